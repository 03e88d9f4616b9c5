/**
 * Weather observations a zone's station publishes on `gridx/v1/zones/<zone>/weather`, validated against the
 * ranges WeatherOracle's fields allow (IWeatherOracle: irradiance uint32 W/m², temperature int32 centi-°C
 * above absolute zero, cloud cover 0–10000 bps, condition 0–6). Pure.
 */
export interface WeatherObservation {
  zone: number;
  observedAt: bigint;
  irradiance_Wm2: number;
  temperature_cC: number;
  cloudCoverBps: number;
  condition: number;
}

export const WEATHER_TOPIC_FILTER = "gridx/v1/zones/+/weather";
export function weatherTopic(zone: number): string {
  return `gridx/v1/zones/${zone}/weather`;
}

const TOPIC = /^gridx\/v1\/zones\/([1-9][0-9]{0,9})\/weather$/;
const FIELDS = ["v", "zone", "observedAt", "irradiance_Wm2", "temperature_cC", "cloudCoverBps", "condition"] as const;

function integer(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The observation, or an Error saying what is wrong with it. */
export function parseWeatherPayload(topic: string, payload: Uint8Array, maxBytes = 1024): WeatherObservation | Error {
  try {
    const match = TOPIC.exec(topic);
    if (match === null) throw new Error(`topic ${topic} is not gridx/v1/zones/<zone>/weather`);
    if (payload.byteLength > maxBytes) throw new Error(`payload of ${payload.byteLength} bytes exceeds ${maxBytes}`);
    const body: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new Error("payload is not a JSON object");
    const record = body as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!(FIELDS as readonly string[]).includes(key)) throw new Error(`unknown field ${key}`);
    }
    if (record.v !== 1) throw new Error(`unsupported version ${JSON.stringify(record.v)}`);
    const zone = integer(record.zone, "zone", 1, 2 ** 32 - 1);
    if (String(zone) !== match[1]) throw new Error(`zone ${zone} does not match the topic's zone ${match[1]}`);
    return {
      zone,
      observedAt: BigInt(integer(record.observedAt, "observedAt", 1, Number.MAX_SAFE_INTEGER)),
      irradiance_Wm2: integer(record.irradiance_Wm2, "irradiance_Wm2", 0, 2 ** 32 - 1),
      temperature_cC: integer(record.temperature_cC, "temperature_cC", -27_315, 2 ** 31 - 1),
      cloudCoverBps: integer(record.cloudCoverBps, "cloudCoverBps", 0, 10_000),
      condition: integer(record.condition, "condition", 0, 6),
    };
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
