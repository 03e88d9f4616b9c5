/**
 * Publishes simulated meter readings and zone weather to the MQTT broker, as QoS 1 messages of a
 * persistent session: with `clean: false` and a fixed client id, a publish that was in flight when the
 * connection dropped is resent by the client after it reconnects, and the broker keeps the session.
 * Every publish resolves only once the broker's PUBACK arrived, so the simulator's ground truth can
 * say which readings the broker really took.
 */
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import type { Logger } from "pino";
import { type SignedReading, readingTopic } from "../domain/reading.ts";
import type { WeatherObservation } from "../domain/simulation/physics.ts";

export const WIRE_VERSION = 1;

/** The reading as the bridge expects it on `gridx/v1/meters/<meterId>/reading` (64-bit integers as decimal strings). */
export function readingPayload(reading: SignedReading): string {
  return JSON.stringify({
    v: WIRE_VERSION,
    meterId: reading.meterId.toString(),
    seq: reading.seq.toString(),
    timestamp: Number(reading.timestamp),
    productionWh: reading.productionWh.toString(),
    consumptionWh: reading.consumptionWh.toString(),
    voltage_mV: reading.voltage_mV,
    frequency_mHz: reading.frequency_mHz,
    signature: reading.signature,
  });
}

export function weatherTopic(zone: number): string {
  return `gridx/v1/zones/${zone}/weather`;
}

/** A zone's weather report on `gridx/v1/zones/<zone>/weather`; `observedAt` in real unix seconds. */
export function weatherPayload(zone: number, observedAt: number, weather: WeatherObservation): string {
  return JSON.stringify({
    v: WIRE_VERSION,
    zone,
    observedAt,
    irradiance_Wm2: weather.irradiance_Wm2,
    temperature_cC: weather.temperature_cC,
    cloudCoverBps: weather.cloudCoverBps,
    condition: weather.condition,
  });
}

export type PublishOutcome = { acked: true } | { acked: false; error: string };

export interface SimulatorPublisher {
  /** Resolves when the broker acknowledged the reading (or the client gave up on it); never rejects. */
  publishReading(reading: SignedReading): Promise<PublishOutcome>;
  publishWeather(zone: number, observedAt: number, weather: WeatherObservation): Promise<PublishOutcome>;
  /** Publishes handed to the client and not yet acknowledged. */
  pendingCount(): number;
  /**
   * Waits up to `timeoutMs` (or until `giveUp` aborts) for every pending publish's PUBACK, then
   * disconnects (forcefully if some are still pending: they are reported unacked). Returns how many never
   * got their PUBACK.
   */
  close(timeoutMs: number, giveUp?: AbortSignal): Promise<number>;
}

export interface SimulatorPublisherOptions {
  brokerUrl: string;
  /** Fixed per simulator instance: the broker ties the persistent session to it. */
  clientId: string;
  logger: Logger;
  /** How long to wait for the first CONNACK before giving up, ms. */
  connectTimeoutMs?: number;
}

/** Connects to the broker; rejects when the first connection does not succeed within the timeout. */
export async function connectSimulatorPublisher(options: SimulatorPublisherOptions): Promise<SimulatorPublisher> {
  const { logger } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: false,
    // MQTT 3.1.1: what every broker speaks, the embedded aedes included (it has no MQTT 5 yet). The
    // simulator needs none of MQTT 5's features; shared subscriptions are the bridge's side.
    protocolVersion: 4,
    connectTimeout: connectTimeoutMs,
    reconnectPeriod: 1_000,
    keepalive: 30,
  };
  const client = connect(options.brokerUrl, clientOptions);
  try {
    await firstConnection(client, connectTimeoutMs);
  } catch (error) {
    client.end(true);
    throw error;
  }
  logger.info({ broker: options.brokerUrl, clientId: options.clientId }, "connected to the MQTT broker");
  client.on("reconnect", () => logger.warn({ broker: options.brokerUrl }, "reconnecting to the MQTT broker"));
  client.on("offline", () => logger.warn({ broker: options.brokerUrl }, "MQTT broker unreachable; publishes are queued until it is back"));
  client.on("connect", (connack) => logger.info({ sessionPresent: connack.sessionPresent }, "reconnected to the MQTT broker"));
  // While reconnecting every failed attempt is an error event (ECONNREFUSED, ...): expected, so a warning.
  client.on("error", (error) => logger.warn({ err: error.message }, "MQTT client error"));
  return createPublisher(client, logger);
}

function firstConnection(client: MqttClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
    const onConnect = () => finish();
    const onError = (error: Error) => finish(error);
    function finish(error?: Error): void {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("error", onError);
      if (error === undefined) resolve();
      else reject(error);
    }
    client.once("connect", onConnect);
    client.once("error", onError);
  });
}

function createPublisher(client: MqttClient, logger: Logger): SimulatorPublisher {
  const pending = new Set<Promise<PublishOutcome>>();

  function publish(topic: string, payload: string): Promise<PublishOutcome> {
    const outcome: Promise<PublishOutcome> = client.publishAsync(topic, payload, { qos: 1 }).then(
      (): PublishOutcome => ({ acked: true }),
      (error: unknown): PublishOutcome => {
        const message = error instanceof Error ? error.message : String(error);
        logger.warn({ topic, err: message }, "publish not acknowledged");
        return { acked: false, error: message };
      },
    );
    pending.add(outcome);
    void outcome.finally(() => pending.delete(outcome));
    return outcome;
  }

  return {
    publishReading: (reading) => publish(readingTopic(reading.meterId), readingPayload(reading)),
    publishWeather: (zone, observedAt, weather) => publish(weatherTopic(zone), weatherPayload(zone, observedAt, weather)),
    pendingCount: () => pending.size,
    async close(timeoutMs, giveUp) {
      let timer: NodeJS.Timeout | undefined;
      let onGiveUp = () => {};
      const stopWaiting = new Promise<void>((resolve) => {
        onGiveUp = () => resolve();
        timer = setTimeout(onGiveUp, timeoutMs);
        if (giveUp?.aborted) resolve();
        giveUp?.addEventListener("abort", onGiveUp, { once: true });
      });
      await Promise.race([Promise.allSettled([...pending]), stopWaiting]);
      clearTimeout(timer);
      giveUp?.removeEventListener("abort", onGiveUp);
      const unacked = pending.size;
      if (unacked > 0) logger.warn({ unacked }, "disconnecting with publishes still unacknowledged");
      // force = true drops what is in flight; only when waiting longer was already given up on.
      await client.endAsync(unacked > 0);
      return unacked;
    },
  };
}
