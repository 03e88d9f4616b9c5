/**
 * Structured logs (pino, JSON lines on stdout) and Prometheus metrics (prom-client) of the bridge, plus the
 * HTTP endpoints operators scrape: `GET /metrics` and `GET /health` (200 when ingesting and posting works,
 * 503 with the reasons otherwise).
 */
import { createServer, type Server } from "node:http";
import { pino, type Logger } from "pino";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createLogger(level: string, name = "oracle-bridge"): Logger {
  return pino({ name, level, base: { pid: process.pid } });
}

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly received = new Counter({ name: "gridx_bridge_messages_received_total", help: "MQTT reading messages received", registers: [this.registry] });
  readonly stored = new Counter({ name: "gridx_bridge_readings_stored_total", help: "Readings verified and durably stored", registers: [this.registry] });
  readonly duplicates = new Counter({ name: "gridx_bridge_readings_duplicate_total", help: "Redelivered readings dropped as duplicates of a stored one", registers: [this.registry] });
  readonly rejected = new Counter({ name: "gridx_bridge_readings_rejected_total", help: "Payloads refused before storage, by reason", labelNames: ["reason"], registers: [this.registry] });
  readonly onChain = new Counter({ name: "gridx_bridge_readings_onchain_total", help: "Readings with an on-chain outcome, by outcome and SmartMeter reason", labelNames: ["outcome", "reason"], registers: [this.registry] });
  readonly batchesSent = new Counter({ name: "gridx_bridge_batch_transactions_total", help: "submitReadings transactions signed and broadcast (replacements are fee bumps)", labelNames: ["kind"], registers: [this.registry] });
  readonly batchesAbandoned = new Counter({ name: "gridx_bridge_batches_abandoned_total", help: "Batches whose readings went back to the queue", labelNames: ["why"], registers: [this.registry] });
  readonly chainErrors = new Counter({ name: "gridx_bridge_chain_errors_total", help: "Failed chain calls (retried with backoff)", labelNames: ["component"], registers: [this.registry] });
  readonly pending = new Gauge({ name: "gridx_bridge_pending_readings", help: "Stored readings not yet in a transaction", registers: [this.registry] });
  readonly latency = new Histogram({
    name: "gridx_bridge_ingest_to_confirm_seconds",
    help: "From a reading's durable storage to its batch's receipt",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly gasPerReading = new Gauge({ name: "gridx_bridge_gas_per_reading", help: "gasUsed / readings of the latest mined batch", registers: [this.registry] });
  readonly oraclePosts = new Counter({ name: "gridx_bridge_oracle_posts_total", help: "Oracle reports posted", labelNames: ["oracle", "zone", "why"], registers: [this.registry] });
  readonly oracleErrors = new Counter({ name: "gridx_bridge_oracle_post_errors_total", help: "Oracle reports that failed (retried next tick)", labelNames: ["oracle", "zone"], registers: [this.registry] });
  readonly zonePrice = new Gauge({ name: "gridx_bridge_zone_price_per_kwh", help: "Smoothed grid-stability price, payment-token base units per kWh", labelNames: ["zone"], registers: [this.registry] });
  readonly zoneSupply = new Gauge({ name: "gridx_bridge_zone_supply_watts", help: "Zone supply from fresh meter readings", labelNames: ["zone"], registers: [this.registry] });
  readonly zoneDemand = new Gauge({ name: "gridx_bridge_zone_demand_watts", help: "Zone demand from fresh meter readings", labelNames: ["zone"], registers: [this.registry] });
  readonly zoneHealth = new Gauge({ name: "gridx_bridge_zone_health_bps", help: "Zone health score, bps of 100%", labelNames: ["zone"], registers: [this.registry] });
  readonly zoneStatus = new Gauge({ name: "gridx_bridge_zone_status", help: "0 Balanced, 1 Oversupply, 2 Shortage", labelNames: ["zone"], registers: [this.registry] });
  readonly mqttConnected = new Gauge({ name: "gridx_bridge_mqtt_connected", help: "1 while connected to the broker", registers: [this.registry] });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "gridx_bridge_" });
  }
}

export interface HealthReport {
  healthy: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}

export async function startHttp(
  host: string,
  port: number,
  metrics: BridgeMetrics,
  health: () => HealthReport,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
      return;
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (body) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    if (path === "/health") {
      const report = health();
      response
        .writeHead(report.healthy ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: report.healthy ? "ok" : "degraded", checks: report.checks }));
      return;
    }
    response.writeHead(404, { "content-type": "text/plain" }).end("GET /health or /metrics\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === "object" && address !== null ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
