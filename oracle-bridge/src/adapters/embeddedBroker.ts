/**
 * The embedded MQTT broker (aedes) for a single machine. Its QoS 1 queues and persistent sessions are journaled
 * to SQLite (durableBrokerPersistence.ts), so a message the broker acknowledged to a meter is still delivered to the bridge after
 * the broker process dies and comes back. In production run Mosquitto or EMQX and point the bridge at it.
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Aedes } from "aedes";
import { createDurablePersistence, type DurablePersistence } from "./durableBrokerPersistence.ts";

export interface EmbeddedBroker {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** Directory of the journal; undefined keeps everything in memory only (tests). */
  dataDir: string | undefined;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  let persistence: DurablePersistence | undefined;
  if (options.dataDir !== undefined) {
    mkdirSync(options.dataDir, { recursive: true });
    persistence = createDurablePersistence(join(options.dataDir, "broker.sqlite"));
  }
  const durable = persistence;
  const broker = await Aedes.createBroker(
    durable === undefined
      ? {}
      : {
          persistence: durable as never,
          // Runs before aedes acknowledges a PUBLISH: a QoS 1 message is journaled first (see the persistence).
          authorizePublish: (_client, packet, callback) => {
            if (packet.qos !== 1) return callback(null);
            durable.journalInbound(packet.topic, packet.payload).then(() => callback(null), (error: Error) => callback(error));
          },
        },
  );
  if (durable !== undefined) {
    // Messages acknowledged before a crash that never reached a session's queue.
    await durable.replayInbound(
      (topic, payload) =>
        new Promise<void>((resolve, reject) =>
          broker.publish({ cmd: "publish", topic, payload, qos: 1, retain: false, dup: false }, (error) => (error ? reject(error) : resolve())),
        ),
    );
  }
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    port,
    host: options.host,
    async close() {
      // Stop accepting, close every client through aedes, then wait for the server; aedes 1.2 does not destroy
      // its persistence, so the journal is closed (and its last deletions written) here.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await serverClosed;
      await durable?.destroy();
    },
  };
}
