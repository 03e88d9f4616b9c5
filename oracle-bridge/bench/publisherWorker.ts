/**
 * A bench publisher on its own thread, so publishing does not steal the bridge's event loop: publishes the
 * given (topic, payload) pairs over one MQTT connection at QoS 1 with up to 500 unacknowledged, and reports
 * when the broker has acknowledged all of them.
 */
import { parentPort, workerData } from "node:worker_threads";
import mqtt from "mqtt";

const { url, clientId, items } = workerData as { url: string; clientId: string; items: Array<[string, string]> };
const client = await mqtt.connectAsync(url, { clientId, clean: true });
const inflight: Array<Promise<unknown>> = [];
for (const [topic, payload] of items) {
  inflight.push(client.publishAsync(topic, payload, { qos: 1 }));
  if (inflight.length >= 500) await Promise.all(inflight.splice(0));
}
await Promise.all(inflight);
await client.endAsync();
parentPort?.postMessage("done");
