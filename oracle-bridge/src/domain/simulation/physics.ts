/**
 * Physical models of the meter simulator: the sun, a zone's weather, a household's load and a battery.
 * Every function takes the simulated time (unix seconds on the simulated clock), the weather and a
 * random stream explicitly, so a run is reproducible and every model is testable on its own. Pure: no
 * I/O, no clock. Hours are local solar time, taken as the UTC hour of the simulated clock.
 */
import { chance, gaussian, type Rng, uniform } from "./random.ts";

export const SECONDS_PER_HOUR = 3600;
export const SECONDS_PER_DAY = 86_400;

// ─────────────────────────────────────────────────────────────── time and sun

/** Hour of day in [0, 24) of a simulated unix time. */
export function hourOfDay(simTime: number): number {
  const secondOfDay = ((simTime % SECONDS_PER_DAY) + SECONDS_PER_DAY) % SECONDS_PER_DAY;
  return secondOfDay / SECONDS_PER_HOUR;
}

/** Day of the year, 0 = 1 January (the 365.25-day mean year is close enough for a simulation). */
export function dayOfYear(simTime: number): number {
  const days = Math.floor(simTime / SECONDS_PER_DAY);
  // 1970-01-01 was day 0 of its year; drift of the mean year against the calendar stays under a day.
  return ((days % 365.25) + 365.25) % 365.25;
}

/** Solar declination in radians (Cooper's equation). */
function solarDeclination(simTime: number): number {
  return ((23.44 * Math.PI) / 180) * Math.sin((2 * Math.PI * (284 + dayOfYear(simTime))) / 365);
}

export interface Daylight {
  sunriseHour: number;
  sunsetHour: number;
  dayLengthHours: number;
}

/** Sunrise and sunset by the sunrise equation cos ω₀ = −tan φ · tan δ (no refraction, no equation of time). */
export function daylight(simTime: number, latitudeDeg: number): Daylight {
  const phi = (latitudeDeg * Math.PI) / 180;
  const cosOmega = -Math.tan(phi) * Math.tan(solarDeclination(simTime));
  // Polar day / night clamp: |cos ω₀| > 1 means the sun never sets / never rises.
  const omega = Math.acos(Math.min(1, Math.max(-1, cosOmega)));
  const dayLengthHours = (2 * omega * 12) / Math.PI;
  return { sunriseHour: 12 - dayLengthHours / 2, sunsetHour: 12 + dayLengthHours / 2, dayLengthHours };
}

/** Sine of the sun's elevation; ≤ 0 while the sun is below the horizon. */
export function sunElevationSine(simTime: number, latitudeDeg: number): number {
  const phi = (latitudeDeg * Math.PI) / 180;
  const delta = solarDeclination(simTime);
  const hourAngle = ((hourOfDay(simTime) - 12) * Math.PI) / 12;
  return Math.sin(phi) * Math.sin(delta) + Math.cos(phi) * Math.cos(delta) * Math.cos(hourAngle);
}

/**
 * Clear-sky global horizontal irradiance, W/m², by Haurwitz's model: 1098 · sin e · exp(−0.057 / sin e).
 * Zero from sunset to sunrise; a bell over the day peaking at solar noon.
 */
export function clearSkyIrradiance(simTime: number, latitudeDeg: number): number {
  const sinE = sunElevationSine(simTime, latitudeDeg);
  if (sinE <= 0) return 0;
  return 1098 * sinE * Math.exp(-0.057 / sinE);
}

// ─────────────────────────────────────────────────────────────── weather

/** IWeatherOracle.WeatherCondition, in its enum order. */
export const WEATHER_CONDITION = {
  Clear: 0,
  PartlyCloudy: 1,
  Overcast: 2,
  Rain: 3,
  Snow: 4,
  Storm: 5,
  Fog: 6,
} as const;
export type WeatherCondition = (typeof WEATHER_CONDITION)[keyof typeof WEATHER_CONDITION];

/** What does not change from day to day in a zone. */
export interface ZoneClimate {
  latitudeDeg: number;
  /** Annual mean air temperature, °C. */
  meanTemperatureC: number;
  /** Half the summer–winter difference of daily means, °C. */
  seasonalSwingC: number;
  /** Half the afternoon–dawn difference on a clear day, °C. */
  dailySwingC: number;
  /** Long-run mean cloud cover, 0–1. */
  meanCloudCover: number;
}

/** A zone's weather, evolving slowly on the simulated clock. */
export interface WeatherState {
  /** Simulated time this state describes. */
  simTime: number;
  /** Fraction of the sky covered, 0–1. */
  cloudCover: number;
  /** Departure of the air temperature from the climate, °C. */
  temperatureAnomalyC: number;
  precipitating: boolean;
  storm: boolean;
  fog: boolean;
}

/** What a weather station in the zone reports (the IWeatherOracle report fields). */
export interface WeatherObservation {
  irradiance_Wm2: number;
  temperature_cC: number;
  cloudCoverBps: number;
  condition: WeatherCondition;
}

/** What a solar panel in the zone sees at one instant. */
export interface SkyConditions {
  /** Global horizontal irradiance, W/m². */
  irradianceWm2: number;
  cloudCover: number;
  temperatureC: number;
}

const CLOUD_TIMESCALE_S = 3 * SECONDS_PER_HOUR;
const CLOUD_STATIONARY_SD = 0.25;
const ANOMALY_TIMESCALE_S = 2 * SECONDS_PER_DAY;
const ANOMALY_STATIONARY_SD_C = 3;
/** Fixed step of the weather process: the state at a given simulated time then does not depend on how often it is advanced. */
export const WEATHER_STEP_S = 60;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Probability that an event of `ratePerHour` happens within `dtSeconds`. */
function eventProbability(ratePerHour: number, dtSeconds: number): number {
  return 1 - Math.exp((-ratePerHour * dtSeconds) / SECONDS_PER_HOUR);
}

export function initialWeather(climate: ZoneClimate, simTime: number, rng: Rng): WeatherState {
  return {
    simTime,
    cloudCover: clamp(gaussian(rng, climate.meanCloudCover, CLOUD_STATIONARY_SD), 0, 1),
    temperatureAnomalyC: gaussian(rng, 0, ANOMALY_STATIONARY_SD_C / 2),
    precipitating: false,
    storm: false,
    fog: false,
  };
}

/** Air temperature, °C: climate + season + a daily cycle (damped by clouds) + the slow anomaly. */
export function airTemperatureC(climate: ZoneClimate, state: WeatherState, simTime: number): number {
  const season = climate.seasonalSwingC * Math.sin((2 * Math.PI * (dayOfYear(simTime) - 110)) / 365.25);
  // Warmest around 15:00, coldest around 03:00; clouds flatten the cycle.
  const daily =
    climate.dailySwingC * (1 - 0.6 * state.cloudCover) * Math.sin((2 * Math.PI * (hourOfDay(simTime) - 9)) / 24);
  return climate.meanTemperatureC + season + daily + state.temperatureAnomalyC;
}

/**
 * Advances the weather by one `dtSeconds` step: cloud cover and temperature anomaly as mean-reverting
 * (Ornstein–Uhlenbeck) processes, precipitation, storms and fog as two-state Markov chains whose rates
 * depend on the clouds and the hour.
 */
export function stepWeather(climate: ZoneClimate, state: WeatherState, dtSeconds: number, rng: Rng): WeatherState {
  const simTime = state.simTime + dtSeconds;
  const cloudTheta = 1 / CLOUD_TIMESCALE_S;
  const cloudSigma = CLOUD_STATIONARY_SD * Math.sqrt(2 * cloudTheta);
  const cloudTarget = state.precipitating ? Math.max(0.85, climate.meanCloudCover) : climate.meanCloudCover;
  const cloudCover = clamp(
    state.cloudCover + cloudTheta * (cloudTarget - state.cloudCover) * dtSeconds + gaussian(rng, 0, cloudSigma * Math.sqrt(dtSeconds)),
    0,
    1,
  );
  const anomalyTheta = 1 / ANOMALY_TIMESCALE_S;
  const anomalySigma = ANOMALY_STATIONARY_SD_C * Math.sqrt(2 * anomalyTheta);
  const temperatureAnomalyC =
    state.temperatureAnomalyC - anomalyTheta * state.temperatureAnomalyC * dtSeconds + gaussian(rng, 0, anomalySigma * Math.sqrt(dtSeconds));

  let precipitating = state.precipitating;
  if (!precipitating && cloudCover > 0.7) precipitating = chance(rng, eventProbability(1 / 4, dtSeconds));
  else if (precipitating) precipitating = !(cloudCover < 0.5 || chance(rng, eventProbability(1 / 2, dtSeconds)));

  let storm = state.storm;
  if (!precipitating) storm = false;
  else if (!storm) storm = chance(rng, eventProbability(1 / 48, dtSeconds));
  else storm = !chance(rng, eventProbability(1, dtSeconds));

  const hour = hourOfDay(simTime);
  const next: WeatherState = { simTime, cloudCover, temperatureAnomalyC, precipitating, storm, fog: state.fog };
  const temperatureC = airTemperatureC(climate, next, simTime);
  // Radiation fog: forms in calm, clear-ish, cool early mornings and burns off as the sun climbs.
  const fogCanForm = hour >= 3 && hour < 9 && cloudCover < 0.4 && temperatureC < 12 && !precipitating;
  if (!state.fog) next.fog = fogCanForm && chance(rng, eventProbability(1 / 6, dtSeconds));
  else next.fog = !(hour >= 11 || precipitating || chance(rng, eventProbability(1 / 2, dtSeconds)));
  return next;
}

/**
 * Irradiance under clouds by Kasten and Czeplak: GHI = GHI_clear · (1 − 0.75 · c^3.4); fog and rain
 * absorb a further share.
 */
export function skyConditions(climate: ZoneClimate, state: WeatherState, simTime: number): SkyConditions {
  let irradianceWm2 = clearSkyIrradiance(simTime, climate.latitudeDeg) * (1 - 0.75 * state.cloudCover ** 3.4);
  if (state.fog) irradianceWm2 *= 0.5;
  if (state.precipitating) irradianceWm2 *= state.storm ? 0.5 : 0.75;
  return { irradianceWm2, cloudCover: state.cloudCover, temperatureC: airTemperatureC(climate, state, simTime) };
}

export function weatherCondition(state: WeatherState, temperatureC: number): WeatherCondition {
  if (state.storm) return WEATHER_CONDITION.Storm;
  if (state.precipitating) return temperatureC < 0.5 ? WEATHER_CONDITION.Snow : WEATHER_CONDITION.Rain;
  if (state.fog) return WEATHER_CONDITION.Fog;
  if (state.cloudCover >= 0.75) return WEATHER_CONDITION.Overcast;
  if (state.cloudCover >= 0.3) return WEATHER_CONDITION.PartlyCloudy;
  return WEATHER_CONDITION.Clear;
}

/** The report a weather station of the zone would make at `simTime`, in the IWeatherOracle units. */
export function observeWeather(climate: ZoneClimate, state: WeatherState, simTime: number): WeatherObservation {
  const sky = skyConditions(climate, state, simTime);
  return {
    irradiance_Wm2: Math.round(sky.irradianceWm2),
    temperature_cC: Math.round(sky.temperatureC * 100),
    cloudCoverBps: Math.round(state.cloudCover * 10_000),
    condition: weatherCondition(state, sky.temperatureC),
  };
}

// ─────────────────────────────────────────────────────────────── solar

/**
 * AC output of a panel array rated `panelPeakW` (at 1000 W/m², 25 °C), W: proportional to irradiance,
 * −0.4 %/°C of cell heating above 25 °C, a few percent of flicker from passing clouds, clipped at the
 * inverter's rating `panelPeakW` so the output never exceeds it.
 */
export function solarOutputW(panelPeakW: number, sky: SkyConditions, rng: Rng): number {
  if (panelPeakW <= 0 || sky.irradianceWm2 <= 0) return 0;
  // Cells run ~25 °C above air at full sun.
  const cellTemperatureC = sky.temperatureC + 0.025 * sky.irradianceWm2;
  const thermalDerate = 1 - 0.004 * Math.max(0, cellTemperatureC - 25);
  const flicker = 1 - uniform(rng, 0, 0.15) * sky.cloudCover;
  return clamp(panelPeakW * (sky.irradianceWm2 / 1000) * thermalDerate * flicker, 0, panelPeakW);
}

// ─────────────────────────────────────────────────────────────── household load

export interface HouseholdProfile {
  /** Fridge, router, standby: always on, W. */
  baseLoadW: number;
  morningPeakW: number;
  morningPeakHour: number;
  eveningPeakW: number;
  eveningPeakHour: number;
  /** Electric heating per °C below 15 °C, W. */
  heatingWPerDegreeC: number;
  /** Wallbox power, W; 0 without an electric vehicle. */
  evChargerW: number;
  /** The load limiter: the model never draws more, W. */
  maxLoadW: number;
}

/** Appliances running, by the simulated time each one switches off (0 = off). */
export interface ApplianceState {
  kettleUntil: number;
  ovenUntil: number;
  evUntil: number;
  /** Simulated day index of the last EV charge: one session a day at most. */
  evLastDay: number;
}

export const APPLIANCE_POWER_W = { kettle: 2000, oven: 2400 } as const;

export function appliancesOff(): ApplianceState {
  return { kettleUntil: 0, ovenUntil: 0, evUntil: 0, evLastDay: -1 };
}

function kettleRatePerHour(hour: number): number {
  if (hour >= 6 && hour < 9) return 0.8;
  if (hour >= 9 && hour < 23) return 0.3;
  return 0.02;
}

function ovenRatePerHour(hour: number): number {
  if (hour >= 17 && hour < 19.5) return 0.5;
  if (hour >= 11 && hour < 13) return 0.15;
  return 0;
}

/** Switches appliances on at random (Poisson rates by hour of day) over `dtSeconds` ending at `simTime`. */
export function stepAppliances(
  profile: HouseholdProfile,
  state: ApplianceState,
  simTime: number,
  dtSeconds: number,
  rng: Rng,
): ApplianceState {
  const hour = hourOfDay(simTime);
  const next = { ...state };
  if (next.kettleUntil <= simTime && chance(rng, eventProbability(kettleRatePerHour(hour), dtSeconds))) {
    next.kettleUntil = simTime + uniform(rng, 120, 240);
  }
  if (next.ovenUntil <= simTime && chance(rng, eventProbability(ovenRatePerHour(hour), dtSeconds))) {
    next.ovenUntil = simTime + uniform(rng, 30, 70) * 60;
  }
  const day = Math.floor(simTime / SECONDS_PER_DAY);
  if (profile.evChargerW > 0 && next.evUntil <= simTime && next.evLastDay !== day && hour >= 18 && hour < 23.5) {
    if (chance(rng, eventProbability(0.6, dtSeconds))) {
      next.evUntil = simTime + uniform(rng, 1.5, 4) * SECONDS_PER_HOUR;
      next.evLastDay = day;
    }
  }
  return next;
}

function bump(hour: number, centre: number, widthHours: number): number {
  // Wraps around midnight so a late peak does not jump at 00:00.
  const distance = Math.min(Math.abs(hour - centre), 24 - Math.abs(hour - centre));
  return Math.exp(-0.5 * (distance / widthHours) ** 2);
}

/** A household's draw at `simTime`, W: base + morning and evening peaks + heating + running appliances. */
export function householdLoadW(
  profile: HouseholdProfile,
  appliances: ApplianceState,
  simTime: number,
  temperatureC: number,
  rng: Rng,
): number {
  const hour = hourOfDay(simTime);
  let load =
    profile.baseLoadW +
    profile.morningPeakW * bump(hour, profile.morningPeakHour, 1) +
    profile.eveningPeakW * bump(hour, profile.eveningPeakHour, 1.7) +
    profile.heatingWPerDegreeC * Math.max(0, 15 - temperatureC);
  if (appliances.kettleUntil > simTime) load += APPLIANCE_POWER_W.kettle;
  if (appliances.ovenUntil > simTime) load += APPLIANCE_POWER_W.oven;
  if (appliances.evUntil > simTime) load += profile.evChargerW;
  load *= 1 + gaussian(rng, 0, 0.03);
  return clamp(load, 0, profile.maxLoadW);
}

// ─────────────────────────────────────────────────────────────── battery

export interface BatterySpec {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  /** One-way conversion efficiency, 0–1 (round trip is its square). */
  efficiency: number;
  /** State of charge kept back for outages, Wh: the battery discharges no deeper. */
  reserveWh: number;
}

export interface BatteryState {
  socWh: number;
}

/** What the battery did in a step: `powerW` > 0 charging from the AC side, < 0 discharging into it. */
export interface BatteryStep {
  powerW: number;
  state: BatteryState;
}

/**
 * Runs the battery at `requestedW` (> 0 charge, < 0 discharge) for `dtSeconds`, as far as its power
 * limits and state of charge allow. The state of charge stays within [0, capacityWh].
 */
export function runBattery(spec: BatterySpec, state: BatteryState, requestedW: number, dtSeconds: number): BatteryStep {
  const hours = dtSeconds / SECONDS_PER_HOUR;
  if (hours <= 0 || requestedW === 0) return { powerW: 0, state };
  if (requestedW > 0) {
    const roomWh = Math.max(0, spec.capacityWh - state.socWh);
    const powerW = Math.min(requestedW, spec.maxChargeW, roomWh / (spec.efficiency * hours));
    return { powerW, state: { socWh: Math.min(spec.capacityWh, state.socWh + powerW * spec.efficiency * hours) } };
  }
  const availableWh = Math.max(0, state.socWh - spec.reserveWh);
  const powerW = Math.min(-requestedW, spec.maxDischargeW, (availableWh * spec.efficiency) / hours);
  return { powerW: -powerW, state: { socWh: Math.max(0, state.socWh - powerW / spec.efficiency * hours) } };
}

const GRID_CHARGE_START_HOUR = 9.5;
const GRID_CHARGE_END_HOUR = 16;
const EVENING_PEAK_START_HOUR = 16.5;
const EVENING_PEAK_END_HOUR = 22.5;

/** The evening peak, when stored energy is worth most. */
export function inEveningPeak(simTime: number): boolean {
  const hour = hourOfDay(simTime);
  return hour >= EVENING_PEAK_START_HOUR && hour < EVENING_PEAK_END_HOUR;
}

/**
 * A home battery behind the meter (Hybrid): charges from the home's own solar surplus, and covers the
 * home's deficit in the evening peak. `surplusW` = solar − load.
 */
export function homeBatteryRequestW(spec: BatterySpec, surplusW: number, simTime: number): number {
  if (surplusW > 0) return Math.min(surplusW, spec.maxChargeW);
  if (surplusW < 0 && inEveningPeak(simTime)) return -Math.min(-surplusW, spec.maxDischargeW);
  return 0;
}

/**
 * A grid battery (Battery meter): soaks up the zone's midday solar, charging harder the more the sun
 * shines, and discharges over the evening peak, most around 19:30. Both are paced by the hours left in
 * the window so the battery spreads its energy over the whole window instead of filling (or emptying)
 * in the first hour.
 */
export function gridBatteryRequestW(spec: BatterySpec, state: BatteryState, sky: SkyConditions, simTime: number): number {
  const hour = hourOfDay(simTime);
  if (hour >= GRID_CHARGE_START_HOUR && hour < GRID_CHARGE_END_HOUR && sky.irradianceWm2 > 150) {
    const roomWh = Math.max(0, spec.capacityWh - state.socWh) / spec.efficiency;
    const pacedW = roomWh / Math.max(0.5, GRID_CHARGE_END_HOUR - hour);
    return Math.min(spec.maxChargeW * Math.min(1, sky.irradianceWm2 / 700), 1.5 * pacedW);
  }
  if (inEveningPeak(simTime)) {
    const availableWh = Math.max(0, state.socWh - spec.reserveWh) * spec.efficiency;
    const pacedW = availableWh / Math.max(0.5, EVENING_PEAK_END_HOUR - hour);
    return -Math.min(spec.maxDischargeW, pacedW * (0.6 + 0.8 * bump(hour, 19.5, 1.5)));
  }
  return 0;
}

// ─────────────────────────────────────────────────────────────── power quality

/** Supply voltage at the meter, mV: 230 V nominal, sagging a little under the meter's own load, within EN 50160's ±10 %. */
export function supplyVoltage_mV(loadFraction: number, rng: Rng): number {
  return Math.round(clamp(230_000 - 3_000 * loadFraction + gaussian(rng, 0, 1_200), 207_000, 253_000));
}

/** Grid frequency, mHz: 50 Hz nominal, normally within ±100 mHz. */
export function gridFrequency_mHz(rng: Rng): number {
  return Math.round(clamp(gaussian(rng, 50_000, 25), 49_800, 50_200));
}
