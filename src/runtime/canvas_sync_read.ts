// Synchronous readback in browsers, where WebGPU has none (mapAsync only resolves on a later task).
// A canvas can be read synchronously: the buffer's bytes are copied into the current texture of
// an OffscreenCanvas 'webgpu' context, viewed as 8-bit pixels, and that canvas is drawn into a 2D
// canvas whose getImageData blocks until the GPU has produced them (as tfjs-backend-webgpu does).
//
// Every byte must survive exactly. A 2D canvas stores premultiplied colour, so colour bytes would
// be lost wherever alpha < 255. Hence two canvases receive the same copy: an 'opaque' one, whose
// alpha reads as 255 and whose colour bytes therefore come back untouched, and a 'premultiplied'
// one, which only supplies the alpha bytes (alpha is never altered by premultiplication).
//
// The copy is submitted on the device's queue after all earlier work, so it sees its results.

/** Pixels per row: 1024 bytes, a multiple of the 256 that copyBufferToTexture needs. */
const WIDTH = 256;
/** Rows per canvas: up to 1 MiB per round trip. */
const ROWS = 1024;
const BYTES_PER_ROW = WIDTH * 4;
const CHUNK_BYTES = BYTES_PER_ROW * ROWS;

interface Target {
  canvas: OffscreenCanvas;
  context: GPUCanvasContext;
}

interface CanvasReader {
  /** Colour bytes come from here (bgra8unorm or rgba8unorm: see `bgra`). */
  opaque: Target;
  /** Alpha bytes come from here. */
  premultiplied: Target;
  host: OffscreenCanvasRenderingContext2D;
  bgra: boolean;
}

const readers = new WeakMap<GPUDevice, CanvasReader>();

/** Whether this environment can read a GPU buffer synchronously through canvases. */
export function canvasSyncReadAvailable(): boolean {
  return typeof OffscreenCanvas !== 'undefined';
}

function canvasFormat(): GPUTextureFormat {
  const preferred = typeof navigator !== 'undefined' && navigator.gpu ? navigator.gpu.getPreferredCanvasFormat() : 'bgra8unorm';
  return preferred === 'rgba8unorm' ? 'rgba8unorm' : 'bgra8unorm';
}

function readerFor(device: GPUDevice): CanvasReader {
  let reader = readers.get(device);
  if (reader) return reader;
  const format = canvasFormat();
  const target = (alphaMode: GPUCanvasAlphaMode): Target => {
    const canvas = new OffscreenCanvas(WIDTH, ROWS);
    const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
    if (!context) throw new Error('mpsgpu: synchronous read: OffscreenCanvas has no \'webgpu\' context here');
    context.configure({device, format, usage: GPUTextureUsage.COPY_DST, alphaMode});
    return {canvas, context};
  };
  const opaque = target('opaque');
  const premultiplied = target('premultiplied');
  const host = new OffscreenCanvas(WIDTH, ROWS).getContext('2d', {willReadFrequently: true}) as OffscreenCanvasRenderingContext2D | null;
  if (!host) throw new Error('mpsgpu: synchronous read: OffscreenCanvas has no \'2d\' context here');
  host.imageSmoothingEnabled = false;
  host.globalCompositeOperation = 'copy';
  reader = {opaque, premultiplied, host, bgra: format === 'bgra8unorm'};
  readers.set(device, reader);
  return reader;
}

function copyToTexture(encoder: GPUCommandEncoder, buffer: GPUBuffer, offset: number, texture: GPUTexture, fullRows: number, rest: number) {
  if (fullRows > 0) {
    encoder.copyBufferToTexture({buffer, offset, bytesPerRow: BYTES_PER_ROW}, {texture}, {width: WIDTH, height: fullRows});
  }
  if (rest > 0) {
    encoder.copyBufferToTexture(
      {buffer, offset: offset + fullRows * BYTES_PER_ROW, bytesPerRow: BYTES_PER_ROW},
      {texture, origin: {x: 0, y: fullRows}}, {width: rest, height: 1});
  }
}

function pixelsOf(reader: CanvasReader, target: Target, rows: number): Uint8ClampedArray {
  const host = reader.host;
  host.drawImage(target.canvas, 0, 0, WIDTH, rows, 0, 0, WIDTH, rows);
  return host.getImageData(0, 0, WIDTH, rows).data;
}

/**
 * The first `bytes` bytes of `buffer` (usage COPY_SRC; its size at least `bytes` rounded up to
 * 4), read synchronously: blocks the calling thread until the GPU has run every earlier
 * submission to `device`'s queue and the copy.
 */
export function canvasReadSync(device: GPUDevice, buffer: GPUBuffer, bytes: number): ArrayBuffer {
  const out = new Uint8Array(Math.ceil(bytes / 4) * 4);
  if (bytes === 0) return out.buffer.slice(0, 0);
  const reader = readerFor(device);
  for (let offset = 0; offset < out.length; offset += CHUNK_BYTES) {
    const pixels = Math.min(CHUNK_BYTES, out.length - offset) / 4;
    const fullRows = Math.floor(pixels / WIDTH);
    const rest = pixels % WIDTH;
    const rows = fullRows + (rest > 0 ? 1 : 0);

    // The current textures: getCurrentTexture gives a new one whenever the old one expired.
    const encoder = device.createCommandEncoder({label: 'mpsgpu canvas sync read'});
    copyToTexture(encoder, buffer, offset, reader.opaque.context.getCurrentTexture(), fullRows, rest);
    copyToTexture(encoder, buffer, offset, reader.premultiplied.context.getCurrentTexture(), fullRows, rest);
    device.queue.submit([encoder.finish()]);

    const colour = pixelsOf(reader, reader.opaque, rows);
    const alpha = pixelsOf(reader, reader.premultiplied, rows);
    const n = pixels * 4;
    // An opaque canvas reads with alpha 255 everywhere; anything else means the browser could not
    // show the WebGPU canvas to the 2D one (e.g. Chromium with --disable-gpu): no silent zeros.
    for (let k = 3; k < n; k += 4) {
      if (colour[k] !== 255) {
        throw new Error('mpsgpu: a synchronous read (dataSync/arraySync) through a canvas failed: this browser ' +
          'did not show the WebGPU canvas to a 2D canvas; use await tensor.data() instead.');
      }
    }
    const dst = out.subarray(offset, offset + n);
    if (reader.bgra) {
      // Texel bytes B, G, R, A in memory; getImageData gives R, G, B, A.
      for (let k = 0; k < n; k += 4) {
        dst[k] = colour[k + 2];
        dst[k + 1] = colour[k + 1];
        dst[k + 2] = colour[k];
        dst[k + 3] = alpha[k + 3];
      }
    } else {
      for (let k = 0; k < n; k += 4) {
        dst[k] = colour[k];
        dst[k + 1] = colour[k + 1];
        dst[k + 2] = colour[k + 2];
        dst[k + 3] = alpha[k + 3];
      }
    }
  }
  return bytes === out.length ? out.buffer : out.buffer.slice(0, bytes);
}
