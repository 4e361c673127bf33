// Adapter and device: the adapter's own limits requested, its optional features detected.
import {SyncWaiter} from './runtime/runtime.js';

/** Optional features mpsgpu uses where the adapter has them. */
export const OPTIONAL_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query',
  // Tensor cores from WGSL (Dawn, behind the toggle allow_unsafe_apis): MPSGPU_MATMUL_TENSOR_CORES.
  'chromium-experimental-subgroup-matrix'] as const;
export type OptionalFeature = typeof OPTIONAL_FEATURES[number];

/** Limits asked at the adapter's maximum: big tensors and big workgroup tiles need them. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface MpsgpuDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  adapterInfo: {vendor: string; architecture: string; device: string; description: string};
  features: Set<OptionalFeature>;
  limits: GPUSupportedLimits;
  /** Set when the device is lost: the reason, for the error every later op throws. */
  lost: string|null;
  /** How to block for a GPU result where the platform allows it (Node); null in browsers. */
  syncWaiter: SyncWaiter|null;
  /** WebGPU errors nobody caught: a bug of ours if any appears. */
  uncapturedErrors: string[];
}

export interface DevicePlatform {
  gpu: GPU;
  syncWaiter: SyncWaiter|null;
  powerPreference?: GPUPowerPreference;
}

let platform: DevicePlatform|null = null;
let current: Promise<MpsgpuDevice|null>|null = null;

/** The Node entry or the browser entry says where the GPU comes from. */
export function setDevicePlatform(p: DevicePlatform): void {
  platform = p;
  current = null;
}

export function hasDevicePlatform(): boolean {
  return platform !== null;
}

/**
 * The shared device, created on first use and again after a loss. Resolves null when no adapter
 * or device can be had.
 */
export function acquireDevice(): Promise<MpsgpuDevice|null> {
  if (current) return current;
  const p = platform;
  if (!p) return Promise.resolve(null);
  current = createDevice(p).catch(e => {
    console.warn(`mpsgpu: no WebGPU device: ${e instanceof Error ? e.message : e}`);
    current = null;
    return null;
  });
  return current;
}

async function createDevice(p: DevicePlatform): Promise<MpsgpuDevice|null> {
  const adapter = await p.gpu.requestAdapter({powerPreference: p.powerPreference ?? 'high-performance'});
  if (!adapter) {
    current = null;
    return null;
  }
  const features = new Set<OptionalFeature>(OPTIONAL_FEATURES.filter(f => adapter.features.has(f)));
  const requiredLimits: Record<string, number> = {};
  const adapterLimits = adapter.limits as unknown as Record<string, number>;
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapterLimits[name];
  const device = await adapter.requestDevice({requiredFeatures: [...features] as unknown as GPUFeatureName[], requiredLimits});
  const info = adapter.info ?? {};
  const result: MpsgpuDevice = {
    adapter, device, features, limits: device.limits, lost: null, syncWaiter: p.syncWaiter,
    adapterInfo: {vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? ''},
    uncapturedErrors: [],
  };
  device.lost.then(reason => {
    result.lost = `${reason.reason}: ${reason.message}`;
    // The next acquireDevice() creates a new device.
    if (current && platform === p) current = null;
    onDeviceLost.forEach(f => f(result));
  });
  device.onuncapturederror = (event: GPUUncapturedErrorEvent) => {
    const message = event.error.message;
    result.uncapturedErrors.push(message);
    console.error(`mpsgpu: WebGPU error (a bug of mpsgpu): ${message}`);
  };
  return result;
}

/** Called when a device is lost (the backend unregisters itself so setBackend can rebuild). */
export const onDeviceLost: Array<(device: MpsgpuDevice) => void> = [];

/**
 * A CPU implementation of WebGPU (Mesa's lavapipe, SwiftShader): kernels pick shapes measured
 * there (fewer, larger workgroups; see src/codegen/gemm.ts) instead of those for GPUs.
 */
export function isCpuAdapter(d: MpsgpuDevice): boolean {
  return adapterMatches(d, /llvmpipe|lavapipe|swiftshader/i);
}

/** Whether the adapter's vendor, architecture, device or description matches `pattern`. */
export function adapterMatches(d: MpsgpuDevice, pattern: RegExp): boolean {
  // Kernels ask per call (tile and path choices): remember the answer per device and pattern.
  let known = adapterAnswers.get(d);
  if (!known) adapterAnswers.set(d, known = new Map());
  const key = `${pattern.source}/${pattern.flags}`;
  let answer = known.get(key);
  if (answer === undefined) {
    const i = d.adapterInfo;
    answer = pattern.test(`${i.vendor} ${i.architecture} ${i.device} ${i.description}`);
    known.set(key, answer);
  }
  return answer;
}
const adapterAnswers = new WeakMap<MpsgpuDevice, Map<string, boolean>>();
