/**
 * The simulator against a real MQTT broker (aedes, in process, on a random port): what a subscriber
 * receives is exactly what the simulator's ground truth says the broker acknowledged.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Aedes } from "aedes";
import { connectAsync, type MqttClient } from "mqtt";
import pino from "pino";
import { recoverTypedDataAddress } from "viem";
import { READING_TYPES, readingDomain } from "../../src/domain/reading.ts";
import { type SimulationTruth, simulate } from "../../src/cli/simulate.ts";

const SMART_METER = "0x0165878A594ca255338adfa4d48449f69242Eb8F";
const silent = pino({ level: "silent" });
const DECIMAL = /^(0|[1-9]\d*)$/;
const READING_KEYS = ["consumptionWh", "frequency_mHz", "meterId", "productionWh", "seq", "signature", "timestamp", "v", "voltage_mV"];
const WEATHER_KEYS = ["cloudCoverBps", "condition", "irradiance_Wm2", "observedAt", "temperature_cC", "v", "zone"];

interface Received {
  topic: string;
  payload: Record<string, unknown>;
}

describe("oracle-bridge simulate against an MQTT broker", () => {
  let broker: Aedes;
  let server: Server;
  let brokerUrl: string;
  let subscriber: MqttClient;
  let directory: string;
  const received: Received[] = [];

  before(async () => {
    broker = await Aedes.createBroker();
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === "object");
    brokerUrl = `mqtt://127.0.0.1:${address.port}`;
    subscriber = await connectAsync(brokerUrl, { clientId: "simulator-test-subscriber", clean: true });
    subscriber.on("message", (topic, payload) => received.push({ topic, payload: JSON.parse(payload.toString("utf8")) }));
    await subscriber.subscribeAsync("gridx/v1/#", { qos: 1 });
    directory = await mkdtemp(join(tmpdir(), "gridx-simulator-"));
  });

  after(async () => {
    await subscriber?.endAsync();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(directory, { recursive: true, force: true });
  });

  it("publishes signed readings and weather on the right topics, and its truth matches what arrived", async () => {
    const truthFile = join(directory, "truth.json");
    const exitCode = await simulate(
      [
        "--meters", "5",
        "--zones", "1,2",
        "--interval", "1",
        "--accelerate", "3600",
        "--duration", "4",
        "--weather-interval", "2",
        "--seed", "integration",
        "--broker", brokerUrl,
        "--offline",
        "--smart-meter", SMART_METER,
        "--truth", truthFile,
        "--start", "2025-06-21T10:00:00Z",
      ],
      { logger: silent, handleProcessSignals: false },
    );
    assert.equal(exitCode, 0);
    const truth = JSON.parse(await readFile(truthFile, "utf8")) as SimulationTruth;

    // Acked by the broker ⇒ routed to our QoS 1 subscription; give the last deliveries a moment.
    const expectedMessages = truth.totals.acked + truth.weather.filter((w) => w.status === "acked").length;
    for (let i = 0; i < 50 && received.length < expectedMessages; i++) await new Promise((r) => setTimeout(r, 50));

    assert.equal(truth.meters.length, 5);
    assert.equal(truth.totals.published, truth.totals.acked, "every reading acknowledged");
    assert.equal(truth.totals.unacked + truth.totals.failed, 0);
    assert.ok(truth.totals.published >= 5 * 3, `only ${truth.totals.published} readings in 4 s`);

    const readings = received.filter((m) => m.topic.endsWith("/reading"));
    const weather = received.filter((m) => m.topic.endsWith("/weather"));
    assert.equal(readings.length, truth.totals.acked);

    const domain = readingDomain(31337, SMART_METER);
    const byMeter = new Map<string, Received["payload"][]>();
    for (const { topic, payload } of readings) {
      const match = /^gridx\/v1\/meters\/(\d+)\/reading$/.exec(topic);
      assert.ok(match, `reading topic ${topic}`);
      assert.deepEqual(Object.keys(payload).sort(), READING_KEYS);
      assert.equal(payload.v, 1);
      assert.equal(payload.meterId, match[1], "topic names the payload's meter");
      for (const key of ["meterId", "seq", "productionWh", "consumptionWh"]) assert.match(payload[key] as string, DECIMAL, key);
      for (const key of ["timestamp", "voltage_mV", "frequency_mHz"]) assert.ok(Number.isInteger(payload[key]), key);
      assert.match(payload.signature as string, /^0x[0-9a-f]{130}$/);
      byMeter.set(payload.meterId as string, [...(byMeter.get(payload.meterId as string) ?? []), payload]);
    }
    assert.deepEqual([...byMeter.keys()].sort(), ["1", "2", "3", "4", "5"]);

    for (const meter of truth.meters) {
      const arrived = byMeter.get(meter.meterId) ?? [];
      for (let k = 1; k < arrived.length; k++) {
        assert.ok(BigInt(arrived[k]?.seq as string) > BigInt(arrived[k - 1]?.seq as string), `meter ${meter.meterId}: seq not increasing`);
        assert.ok((arrived[k]?.timestamp as number) > (arrived[k - 1]?.timestamp as number));
      }
      assert.equal(arrived[0]?.seq, "1");
      // The truth is exactly what arrived, reading for reading.
      assert.deepEqual(
        arrived.map((p) => [p.seq, p.timestamp, p.productionWh, p.consumptionWh, p.voltage_mV, p.frequency_mHz, p.signature]),
        meter.readings.map((r) => [r.seq, r.timestamp, r.productionWh, r.consumptionWh, r.voltage_mV, r.frequency_mHz, r.signature]),
      );
      assert.deepEqual(meter.expected, meter.expectedAcked);
      assert.equal(meter.last?.seq, arrived.at(-1)?.seq);
      const first = arrived[0] as Record<string, unknown>;
      const recovered = await recoverTypedDataAddress({
        domain,
        types: READING_TYPES,
        primaryType: "Reading",
        message: {
          meterId: BigInt(first.meterId as string),
          seq: BigInt(first.seq as string),
          timestamp: BigInt(first.timestamp as number),
          productionWh: BigInt(first.productionWh as string),
          consumptionWh: BigInt(first.consumptionWh as string),
          voltage_mV: first.voltage_mV as number,
          frequency_mHz: first.frequency_mHz as number,
        },
        signature: first.signature as `0x${string}`,
      });
      assert.equal(recovered, meter.deviceSigner);
    }

    assert.ok(weather.length >= 2);
    for (const { topic, payload } of weather) {
      const match = /^gridx\/v1\/zones\/(\d+)\/weather$/.exec(topic);
      assert.ok(match, `weather topic ${topic}`);
      assert.deepEqual(Object.keys(payload).sort(), WEATHER_KEYS);
      assert.equal(payload.zone, Number(match[1]));
      assert.ok([1, 2].includes(payload.zone as number));
      assert.ok((payload.condition as number) >= 0 && (payload.condition as number) <= 6);
      assert.ok((payload.cloudCoverBps as number) >= 0 && (payload.cloudCoverBps as number) <= 10_000);
    }
  });

  it("stops gracefully when signalled, and fails fast naming the option when the broker is unreachable", async () => {
    const stop = new AbortController();
    const truthFile = join(directory, "stopped.json");
    setTimeout(() => stop.abort(), 1_500);
    const exitCode = await simulate(
      ["--meters", "2", "--interval", "1", "--seed", "stop", "--broker", brokerUrl, "--offline", "--smart-meter", SMART_METER, "--truth", truthFile],
      { logger: silent, handleProcessSignals: false, signal: stop.signal },
    );
    assert.equal(exitCode, 0);
    const truth = JSON.parse(await readFile(truthFile, "utf8")) as SimulationTruth;
    assert.ok(truth.totals.published >= 2);
    assert.equal(truth.totals.acked, truth.totals.published);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    let stderr = "";
    const failed = await simulate(["--broker", `mqtt://127.0.0.1:${port}`, "--offline", "--smart-meter", SMART_METER, "--duration", "1"], {
      logger: silent,
      handleProcessSignals: false,
      stderr: (text) => {
        stderr += text;
      },
    });
    assert.equal(failed, 1);
    assert.match(stderr, /--broker: cannot connect/);
  });
});
