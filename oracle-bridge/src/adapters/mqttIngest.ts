/**
 * The bridge's MQTT subscription: QoS 1 on a persistent session (`clean: false`, fixed client id), so the
 * broker keeps queueing readings while the bridge is down and redelivers every one it did not see
 * acknowledged. The PUBACK of a message is sent only after its handler resolved, i.e. after the reading was
 * durably stored (or refused for good): mqtt.js sends the acknowledgement when `handleMessage`'s callback is
 * called, and processes one incoming message at a time.
 *
 * A handler that throws (the chain could not be asked about a meter) is retried with backoff without
 * acknowledging; on shutdown an unacknowledged message is simply left to the broker, which redelivers it.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";

export type MessageHandler = (topic: string, payload: Uint8Array) => Promise<void>;

export interface MqttIngestOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  /** topic filter → handler; e.g. `gridx/v1/meters/+/reading`. Use `$share/<group>/…` to spread meters. */
  subscriptions: Array<{ filter: string; handler: MessageHandler }>;
  retry: { baseMs: number; maxMs: number };
  onRetry(error: unknown, attempt: number, topic: string): void;
  onConnect(): void;
  onDisconnect(error: Error | undefined): void;
}

function topicMatches(filter: string, topic: string): boolean {
  const f = filter.startsWith("$share/") ? filter.split("/").slice(2).join("/") : filter;
  const fl = f.split("/");
  const tl = topic.split("/");
  for (let i = 0; i < fl.length; i++) {
    if (fl[i] === "#") return true;
    if (i >= tl.length) return false;
    if (fl[i] !== "+" && fl[i] !== tl[i]) return false;
  }
  return fl.length === tl.length;
}

export class MqttIngest {
  readonly #options: MqttIngestOptions;
  #client: MqttClient | undefined;
  #stopping = false;

  constructor(options: MqttIngestOptions) {
    this.#options = options;
  }

  async start(): Promise<void> {
    const options: IClientOptions = {
      clientId: this.#options.clientId,
      clean: false,
      protocolVersion: 4,
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      username: this.#options.username,
      password: this.#options.password,
      resubscribe: true,
    };
    const client = mqtt.connect(this.#options.url, options);
    this.#client = client;
    client.handleMessage = (packet, callback) => {
      if (packet.cmd !== "publish") {
        callback();
        return;
      }
      const payload = typeof packet.payload === "string" ? new TextEncoder().encode(packet.payload) : packet.payload;
      this.#dispatch(packet.topic, payload).then(
        (acked) => {
          if (acked) callback();
          // not acked: stopping; the broker redelivers the message to the next session
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    };
    client.on("connect", (connack) => {
      this.#options.onConnect();
      if (!connack.sessionPresent) {
        for (const { filter } of this.#options.subscriptions) client.subscribe(filter, { qos: 1 });
      }
    });
    client.on("close", () => this.#options.onDisconnect(undefined));
    client.on("error", (error) => this.#options.onDisconnect(error));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`MQTT broker ${this.#options.url} did not accept a connection within 15 s`)), 15_000);
      client.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Runs the handler until it succeeds; false when the bridge is stopping and the message stays unacked. */
  async #dispatch(topic: string, payload: Uint8Array): Promise<boolean> {
    const subscription = this.#options.subscriptions.find((s) => topicMatches(s.filter, topic));
    if (subscription === undefined) return true; // not ours: nothing to store, let it go
    for (let attempt = 1; ; attempt++) {
      if (this.#stopping) return false;
      try {
        await subscription.handler(topic, payload);
        return true;
      } catch (error) {
        this.#options.onRetry(error, attempt, topic);
        const cap = Math.min(this.#options.retry.maxMs, this.#options.retry.baseMs * 2 ** Math.min(attempt, 16));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
      }
    }
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const client = this.#client;
    if (client === undefined) return;
    // Force: an in-flight, unacknowledged message must not be acked while closing.
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  }
}

export { topicMatches };
