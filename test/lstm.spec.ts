// The fused LSTM (mpsgpu.lstm, kernels/LSTM.ts) and its layer (mpsgpu.layers.lstm, src/layers/)
// against tfjs-layers' stock LSTM on tfjs-backend-cpu: forward outputs, final states and the
// gradients of x, kernel, recurrentKernel, bias and the initial states.
//
// Tolerance: TOL, relative-or-absolute as in expectClose (|a - e| <= TOL · max(1, |e|)). float32
// throughout; the fused kernels sum in another order (x·W + b, then + h·U; GEMM tiles), so values
// differ from cpu by rounding only (measured on lavapipe: ≤ 7e-7 on these cases).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

import {LstmActivation} from '../kernels/LSTM.js';
import {mpsgpu} from '../src/layers/index.js';

import {describeLazyAndEager, expectClose, randomValues} from './util.js';

const TOL = 1e-4;

interface Case {
  name: string;
  batch: number;
  time: number;
  inputDim: number;
  units: number;
  activation?: LstmActivation;
  recurrentActivation?: LstmActivation;
  returnSequences?: boolean;
  goBackwards?: boolean;
  /** Initial state given (h0, c0). */
  initial?: boolean;
  /** 'random': some steps masked; 'rows': also rows fully masked; mask dtype. */
  mask?: {kind: 'random'|'rows'; dtype: 'bool'|'float32'};
  useBias?: boolean;
  seed: number;
}

const ACTIVATION_PAIRS: Array<[LstmActivation, LstmActivation]> = [
  ['tanh', 'hardSigmoid'], ['tanh', 'sigmoid'], ['sigmoid', 'tanh'], ['relu', 'sigmoid'], ['linear', 'hardSigmoid'],
  ['hardSigmoid', 'relu'], ['tanh', 'linear'],
];

const CASES: Case[] = [
  {name: 'defaults, odd sizes', batch: 3, time: 5, inputDim: 7, units: 5, seed: 1},
  ...ACTIVATION_PAIRS.map(([a, r], i): Case => ({
    name: `activation ${a}, recurrentActivation ${r}`, batch: 2, time: 4, inputDim: 3, units: 3, activation: a,
    recurrentActivation: r, returnSequences: i % 2 === 0, seed: 10 + i,
  })),
  {name: 'returnSequences, goBackwards', batch: 2, time: 6, inputDim: 5, units: 7, returnSequences: true, goBackwards: true, seed: 2},
  {name: 'goBackwards, last output', batch: 3, time: 4, inputDim: 2, units: 3, goBackwards: true, seed: 3},
  {name: 'initial state', batch: 3, time: 3, inputDim: 4, units: 5, initial: true, returnSequences: true, seed: 4},
  {name: 'mask (bool), some steps', batch: 4, time: 5, inputDim: 3, units: 3, mask: {kind: 'random', dtype: 'bool'}, returnSequences: true, seed: 5},
  {name: 'mask (float32) with fully masked rows, initial state', batch: 4, time: 5, inputDim: 3, units: 5,
   mask: {kind: 'rows', dtype: 'float32'}, initial: true, seed: 6},
  {name: 'mask, goBackwards, initial state, sequences', batch: 3, time: 6, inputDim: 5, units: 3, mask: {kind: 'rows', dtype: 'bool'},
   goBackwards: true, initial: true, returnSequences: true, seed: 7},
  {name: 'batch 1', batch: 1, time: 4, inputDim: 3, units: 5, returnSequences: true, seed: 8},
  {name: 'sequence length 1', batch: 3, time: 1, inputDim: 5, units: 3, initial: true, seed: 9},
  {name: 'no bias', batch: 2, time: 3, inputDim: 3, units: 3, useBias: false, seed: 30},
  // More than one workgroup along batch and units (tiles of 16 × 16), K spans several staged steps.
  {name: 'larger: batch 19, units 21, input 33', batch: 19, time: 3, inputDim: 33, units: 21, returnSequences: true, initial: true,
   mask: {kind: 'random', dtype: 'bool'}, seed: 31},
];

/** The case's data as plain arrays (the same on both backends). */
function caseData(c: Case) {
  const u4 = 4 * c.units;
  const maskValues = new Float32Array(c.batch * c.time);
  if (c.mask) {
    const r = randomValues(c.batch * c.time, c.seed + 500, 0, 1);
    for (let i = 0; i < r.length; ++i) maskValues[i] = r[i] < 0.35 ? 0 : 1;
    if (c.mask.kind === 'rows') {
      // Row 0 fully masked (output = initial state), row 1 masked at its first and last steps.
      for (let t = 0; t < c.time; ++t) maskValues[t] = 0;
      if (c.batch > 1) {
        maskValues[c.time] = 0;
        maskValues[2 * c.time - 1] = 0;
      }
    }
  }
  const seqShape = c.returnSequences ? [c.batch, c.time, c.units] : [c.batch, c.units];
  return {
    x: randomValues(c.batch * c.time * c.inputDim, c.seed, -1, 1),
    kernel: randomValues(c.inputDim * u4, c.seed + 1, -0.6, 0.6),
    recurrentKernel: randomValues(c.units * u4, c.seed + 2, -0.6, 0.6),
    bias: randomValues(u4, c.seed + 3, -0.5, 0.5),
    h0: randomValues(c.batch * c.units, c.seed + 4, -1, 1),
    c0: randomValues(c.batch * c.units, c.seed + 5, -1, 1),
    mask: maskValues,
    // Weights of the loss Σ out·wOut + Σ h·wH + Σ c·wC: a random dy for every output.
    wOut: randomValues(seqShape.reduce((a, b) => a * b, 1), c.seed + 6, -1, 1),
    seqShape,
    wH: randomValues(c.batch * c.units, c.seed + 7, -1, 1),
    wC: randomValues(c.batch * c.units, c.seed + 8, -1, 1),
  };
}

type Impl = 'stock'|'layer'|'op';

interface Result {
  names: string[];
  values: Float32Array[];
  shapes: number[][];
}

/**
 * Runs case `c` with `impl` on the active backend: outputs (output, h, c) and the gradients of the
 * loss with respect to x, kernel, recurrentKernel, bias (if used), h0 and c0 (if given).
 */
async function run(c: Case, impl: Impl): Promise<Result> {
  // tfjs-core 4.22's Unpack gradient fails for one output (it passes stack() a tensor, not a list),
  // so the stock layer has no x gradient at sequence length 1. Its reference runs a second step
  // that the mask skips (state and output carry over; that step's dx is zero), cut off after.
  const pad = impl === 'stock' && c.time === 1;
  const time = pad ? 2 : c.time;
  const d = caseData(c);
  const xValues = pad ? Float32Array.from({length: c.batch * 2 * c.inputDim}, (_, i) => {
    const b = Math.floor(i / (2 * c.inputDim)), r = i % (2 * c.inputDim);
    return r < c.inputDim ? d.x[b * c.inputDim + r] : 0;
  }) : d.x;
  const maskValues = pad ? Float32Array.from({length: c.batch * 2}, (_, i) => (i % 2 === 0 ? (c.mask ? d.mask[i / 2] : 1) : 0)) : d.mask;
  const useBias = c.useBias ?? true;
  const u4 = 4 * c.units;
  const x = tf.variable(tf.tensor3d(xValues, [c.batch, time, c.inputDim]));
  const h0 = tf.variable(tf.tensor2d(d.h0, [c.batch, c.units]));
  const c0 = tf.variable(tf.tensor2d(d.c0, [c.batch, c.units]));
  const maskT = c.mask || pad ? tf.tensor2d(maskValues, [c.batch, time], 'float32').asType(c.mask?.dtype ?? 'bool') : null;
  const weights: tf.Tensor[] = [tf.tensor2d(d.kernel, [c.inputDim, u4]), tf.tensor2d(d.recurrentKernel, [c.units, u4])];
  if (useBias) weights.push(tf.tensor1d(d.bias));
  const config = {
    units: c.units, returnSequences: c.returnSequences ?? false, returnState: true, goBackwards: c.goBackwards ?? false,
    activation: c.activation, recurrentActivation: c.recurrentActivation, useBias,
  };
  let weightVars: tf.Variable[];
  let layer: tfl.layers.Layer|null = null;
  if (impl === 'op') {
    weightVars = weights.map(w => tf.variable(w));
  } else {
    // The weights are set when the first call builds the layer.
    const withWeights = {...config, weights};
    layer = impl === 'stock' ? tfl.layers.lstm(withWeights) : mpsgpu.layers.lstm(withWeights);
    tf.dispose(layer.apply(x) as tf.Tensor[]);
    weightVars = layer.trainableWeights.map(w => (w as unknown as {read(): tf.Variable}).read());
  }
  const forward = (): tf.Tensor[] => {
    const initialState: [tf.Tensor, tf.Tensor]|null = c.initial ? [h0, c0] : null;
    let outs: tf.Tensor[];
    if (impl === 'op') {
      outs = mpsgpu.lstm(x, weightVars[0], weightVars[1], useBias ? weightVars[2] : null, {
        ...config, activation: c.activation, recurrentActivation: c.recurrentActivation, returnState: true, initialState, mask: maskT,
      });
    } else {
      const kwargs: Record<string, unknown> = {};
      if (initialState) kwargs['initialState'] = initialState;
      if (maskT) kwargs['mask'] = maskT;
      outs = layer!.apply(x, kwargs) as tf.Tensor[];
    }
    if (pad && c.returnSequences) outs[0] = tf.slice(outs[0], [0, 0, 0], [c.batch, 1, c.units]);
    return outs;
  };
  const wOut = tf.tensor(d.wOut, d.seqShape), wH = tf.tensor2d(d.wH, [c.batch, c.units]), wC = tf.tensor2d(d.wC, [c.batch, c.units]);
  const outs = tf.tidy(forward);
  const gradVars = [x, ...weightVars, ...(c.initial ? [h0, c0] : [])];
  const {grads} = tf.variableGrads(() => {
    const [o, h, cc] = forward();
    return tf.addN([tf.sum(tf.mul(o, wOut)), tf.sum(tf.mul(h, wH)), tf.sum(tf.mul(cc, wC))]) as tf.Scalar;
  }, gradVars);
  const names = ['output', 'h', 'c', 'dx', 'dkernel', 'drecurrentKernel', ...(useBias ? ['dbias'] : []),
                 ...(c.initial ? ['dh0', 'dc0'] : [])];
  const gradTensors = gradVars.map(v => grads[v.name]);
  if (pad) gradTensors[0] = tf.slice(gradTensors[0], [0, 0, 0], [c.batch, 1, c.inputDim]);
  const tensors = [...outs, ...gradTensors];
  const values = await Promise.all(tensors.map(async t => Float32Array.from(await t.data() as Float32Array)));
  const shapes = tensors.map(t => t.shape);
  tf.dispose([...tensors, ...Object.values(grads), x, h0, c0, wOut, wH, wC, ...weights]);
  if (maskT) maskT.dispose();
  if (impl === 'op') tf.dispose(weightVars);
  layer?.dispose();
  return {names, values, shapes};
}

async function expectMatchesStock(c: Case, impl: Impl) {
  await tf.setBackend('cpu');
  const expected = await run(c, 'stock');
  await tf.setBackend('mpsgpu');
  const errorsBefore = mpsgpu.device().uncapturedErrors.length;
  const actual = await run(c, impl);
  expect(actual.names).toEqual(expected.names);
  expected.values.forEach((e, i) => {
    expect(actual.shapes[i]).toEqual(expected.shapes[i], `${c.name}: ${expected.names[i]} shape`);
    expectClose(actual.values[i], e, TOL, `${c.name}: ${expected.names[i]}`);
  });
  expect(mpsgpu.device().uncapturedErrors.slice(errorsBefore)).toEqual([]);
}

describeLazyAndEager('LSTM: mpsgpu.lstm against tf.layers.lstm on cpu', () => {
  for (const c of CASES) {
    it(`${c.name} [${c.batch}, ${c.time}, ${c.inputDim}] → ${c.units}: outputs, states, gradients`, async () => {
      await expectMatchesStock(c, 'op');
    });
  }

  it('returnState false gives the output alone; returnSequences its shape', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor3d(randomValues(2 * 3 * 4, 40), [2, 3, 4]);
    const k = tf.tensor2d(randomValues(4 * 8, 41, -0.5, 0.5), [4, 8]);
    const r = tf.tensor2d(randomValues(2 * 8, 42, -0.5, 0.5), [2, 8]);
    const last = mpsgpu.lstm(x, k, r);
    const seq = mpsgpu.lstm(x, k, r, null, {returnSequences: true});
    expect(last.shape).toEqual([2, 2]);
    expect(seq.shape).toEqual([2, 3, 2]);
    expectClose(await last.data(), (await seq.array() as number[][][]).map(row => row[2]).flat(), 1e-6, 'last step of the sequence');
    tf.dispose([x, k, r, last, seq]);
  });

  it('leaks no tensors (forward and gradient)', async () => {
    await tf.setBackend('mpsgpu');
    const x = tf.tensor3d(randomValues(2 * 3 * 4, 43), [2, 3, 4]);
    const k = tf.variable(tf.tensor2d(randomValues(4 * 8, 44, -0.5, 0.5), [4, 8]));
    const r = tf.variable(tf.tensor2d(randomValues(2 * 8, 45, -0.5, 0.5), [2, 8]));
    const before = tf.memory().numTensors;
    const out = mpsgpu.lstm(x, k, r, null, {returnSequences: true});
    out.dispose();
    const {value, grads} = tf.variableGrads(() => tf.sum(mpsgpu.lstm(x, k, r, null, {returnSequences: true})) as tf.Scalar);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, k, r]);
  });

  it('records as many graph nodes for any sequence length (forward and backward are one repeated node each)', async () => {
    await tf.setBackend('mpsgpu');
    const [batch, inputDim, units] = [2, 3, 4];
    const k = tf.variable(tf.tensor2d(randomValues(inputDim * 4 * units, 46, -0.5, 0.5), [inputDim, 4 * units]));
    const r = tf.variable(tf.tensor2d(randomValues(units * 4 * units, 47, -0.5, 0.5), [units, 4 * units]));
    const bias = tf.variable(tf.tensor1d(randomValues(4 * units, 48, -0.5, 0.5)));
    const h0 = tf.variable(tf.tensor2d(randomValues(batch * units, 49), [batch, units]));
    const c0 = tf.variable(tf.tensor2d(randomValues(batch * units, 50), [batch, units]));
    const count = async (time: number) => {
      const x = tf.variable(tf.tensor3d(randomValues(batch * time * inputDim, 51), [batch, time, inputDim]));
      const mask = tf.tensor2d(randomValues(batch * time, 52, 0, 1).map(v => (v < 0.3 ? 0 : 1)), [batch, time]).asType('bool');
      const before = mpsgpu.stats();
      const {value, grads} = tf.variableGrads(() => {
        const [o, h, c] = mpsgpu.lstm(x, k, r, bias, {returnSequences: true, returnState: true, goBackwards: true,
                                                      initialState: [h0, c0], mask});
        return tf.addN([tf.sum(o), tf.sum(h), tf.sum(c)]) as tf.Scalar;
      });
      const results = [value, ...Object.values(grads)];
      await Promise.all(results.map(t => t.data()));
      const after = mpsgpu.stats();
      tf.dispose([...results, x, mask]);
      return {nodes: after.nodesRecorded - before.nodesRecorded, dispatches: after.dispatches - before.dispatches};
    };
    const errorsBefore = mpsgpu.device().uncapturedErrors.length;
    await count(2);  // compiles the pipelines
    const short = await count(3);
    const long = await count(40);
    expect(long.nodes).toBe(short.nodes);
    expect(short.nodes).toBeLessThan(40);
    // One dispatch per step forward, one per step backward.
    expect(long.dispatches - short.dispatches).toBe(2 * (40 - 3));
    expect(mpsgpu.device().uncapturedErrors.slice(errorsBefore)).toEqual([]);
    tf.dispose([k, r, bias, h0, c0]);
  });

  describe('errors (thrown before anything is recorded; the backend stays usable)', () => {
    const x = () => tf.zeros([2, 3, 4]);
    const k = () => tf.zeros([4, 12]);
    const r = () => tf.zeros([3, 12]);
    const bad: Array<[string, () => unknown, RegExp]> = [
      ['x of rank 2', () => mpsgpu.lstm(tf.zeros([2, 4]), k(), r()), /mpsgpu.lstm: input 'x' must be rank 3.*\[2,4\]/],
      ['int32 x', () => mpsgpu.lstm(tf.zeros([2, 3, 4], 'int32'), k(), r()), /input 'x' must be float32/],
      ['kernel rows ≠ inputDim', () => mpsgpu.lstm(x(), tf.zeros([5, 12]), r()), /input 'kernel' must have shape \[inputDim, 4·units\]/],
      ['kernel columns not 4·units', () => mpsgpu.lstm(x(), tf.zeros([4, 10]), r()), /input 'kernel'.*\[4,10\]/],
      ['recurrentKernel shape', () => mpsgpu.lstm(x(), k(), tf.zeros([3, 8])), /input 'recurrentKernel' must have shape \[3,12\], got shape \[3,8\]/],
      ['bias shape', () => mpsgpu.lstm(x(), k(), r(), tf.zeros([3])), /input 'bias' must have shape \[12\]/],
      ['h0 shape', () => mpsgpu.lstm(x(), k(), r(), null, {initialState: [tf.zeros([2, 4]), tf.zeros([2, 3])]}), /input 'h0' must have shape \[2,3\]/],
      ['initialState not a pair', () => mpsgpu.lstm(x(), k(), r(), null, {initialState: [tf.zeros([2, 3])] as unknown as [tf.Tensor, tf.Tensor]}),
       /initialState must be \[h0, c0\]/],
      ['mask shape', () => mpsgpu.lstm(x(), k(), r(), null, {mask: tf.ones([2, 4])}), /input 'mask' must have shape \[batch, time\] = \[2,3\]/],
      ['bad activation', () => mpsgpu.lstm(x(), k(), r(), null, {activation: 'softmax' as LstmActivation}), /activation 'softmax' is not one of/],
      ['bad recurrent activation', () => mpsgpu.lstm(x(), k(), r(), null, {recurrentActivation: 'elu' as LstmActivation}),
       /recurrentActivation 'elu' is not one of/],
      ['no time steps', () => mpsgpu.lstm(tf.zeros([2, 0, 4]), k(), r()), /at least one batch row and one time step/],
    ];
    for (const [name, fn, message] of bad) {
      it(`${name} throws a clear error`, async () => {
        await tf.setBackend('mpsgpu');
        const before = tf.memory().numTensors;
        tf.tidy(() => expect(fn).toThrowError(message));
        expect(tf.memory().numTensors).toBe(before);
        const y = tf.square(tf.tensor([1, 2, 3]));
        expect(Array.from(await y.data())).toEqual([1, 4, 9]);
        y.dispose();
      });
    }
  });
});

describeLazyAndEager('LSTM: mpsgpu.layers.lstm against tf.layers.lstm on cpu', () => {
  for (const c of CASES.filter((_, i) => i % 3 === 0 || CASES[i].mask || CASES[i].initial)) {
    it(`${c.name}: outputs, states, gradients`, async () => {
      await expectMatchesStock(c, 'layer');
    });
  }
});

/** Layer names already used (tfjs-layers' weight names are unique process-wide). */
let nameCount = 0;

/** An in-memory IOHandler: what model.save wrote, for tf.loadLayersModel. */
function memoryHandler(): tf.io.IOHandler&{artifacts: tf.io.ModelArtifacts|null} {
  const handler = {
    artifacts: null as tf.io.ModelArtifacts|null,
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      handler.artifacts = artifacts;
      return {modelArtifactsInfo: {dateSaved: new Date(), modelTopologyType: 'JSON'}};
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      return handler.artifacts!;
    },
  };
  return handler;
}

describeLazyAndEager('LSTM: mpsgpu.layers.lstm: config, serialization and weights', () => {

  const config = {units: 5, returnSequences: true, goBackwards: true, activation: 'tanh' as const,
                  recurrentActivation: 'sigmoid' as const, unitForgetBias: true, inputShape: [4, 3]};

  it('has the stock layer\'s config, weight names, shapes and order', () => {
    // Fresh layer names: tfjs-layers makes weight names unique process-wide (kernel_1, …).
    const a = `rnn_a${++nameCount}`, b = `rnn_b${nameCount}`;
    const ours = mpsgpu.layers.lstm({...config, name: a});
    const stock = tfl.layers.lstm({...config, name: b});
    const mOurs = tfl.sequential({layers: [ours]});
    const mStock = tfl.sequential({layers: [stock]});
    expect(ours.getClassName()).toBe('MpsgpuLSTM');
    expect({...ours.getConfig(), name: ''}).toEqual({...stock.getConfig(), name: ''});
    expect(ours.weights.map(w => w.name.replace(`${a}/`, ''))).toEqual(stock.weights.map(w => w.name.replace(`${b}/`, '')));
    expect(ours.weights.map(w => w.name)).toEqual([`${a}/kernel`, `${a}/recurrent_kernel`, `${a}/bias`]);
    expect(ours.weights.map(w => w.shape)).toEqual(stock.weights.map(w => w.shape));
    // unitForgetBias: the forget gate's biases start at one, the rest at zero.
    const bias = ours.getWeights()[2].dataSync();
    expect(Array.from(bias.slice(5, 10))).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(bias.slice(0, 5))).toEqual([0, 0, 0, 0, 0]);
    mOurs.dispose();
    mStock.dispose();
  });

  it('runs the fused kernel on mpsgpu, the stock loop elsewhere', async () => {
    const layer = mpsgpu.layers.lstm({units: 3});
    const x = tf.tensor3d(randomValues(2 * 4 * 3, 52), [2, 4, 3]);
    tf.dispose(layer.apply(x) as tf.Tensor);
    const fused = await tf.profile(() => layer.apply(x) as tf.Tensor);
    expect(fused.kernelNames).toContain('MpsgpuLSTM');
    expect(fused.kernelNames).not.toContain('BatchMatMul');
    // Dropout while training: the stock per-step loop.
    const dropout = mpsgpu.layers.lstm({units: 3, dropout: 0.5});
    tf.dispose(dropout.apply(x) as tf.Tensor);
    const loop = await tf.profile(() => dropout.apply(x, {training: true}) as tf.Tensor);
    expect(loop.kernelNames).not.toContain('MpsgpuLSTM');
    tf.dispose([fused.result as tf.Tensor, loop.result as tf.Tensor, x]);
    layer.dispose();
    dropout.dispose();
  });

  it('saves and loads (model.save, tf.loadLayersModel), predicting the same', async () => {
    const model = tfl.sequential();
    model.add(mpsgpu.layers.lstm({...config}));
    model.add(tfl.layers.dense({units: 2}));
    const x = tf.tensor3d(randomValues(2 * 4 * 3, 50), [2, 4, 3]);
    const handler = memoryHandler();
    await model.save(handler);
    const topology = JSON.stringify(handler.artifacts!.modelTopology);
    expect(topology).toContain('"class_name":"MpsgpuLSTM"');
    const loaded = await tfl.loadLayersModel(handler);
    expect(loaded.layers[0].getClassName()).toBe('MpsgpuLSTM');
    const a = model.predict(x) as tf.Tensor, b = loaded.predict(x) as tf.Tensor;
    expectClose(await b.data(), await a.data(), 1e-6, 'loaded model predicts the same');
    tf.dispose([a, b, x]);
    model.dispose();
    loaded.dispose();
  });

  it('exchanges weights with the stock layer both ways', async () => {
    const ours = tfl.sequential({layers: [mpsgpu.layers.lstm({...config})]});
    const stock = tfl.sequential({layers: [tfl.layers.lstm({...config})]});
    const x = tf.tensor3d(randomValues(2 * 4 * 3, 51), [2, 4, 3]);
    stock.setWeights(ours.getWeights());
    let a = ours.predict(x) as tf.Tensor, b = stock.predict(x) as tf.Tensor;
    expectClose(await a.data(), await b.data(), TOL, 'ours → stock');
    tf.dispose([a, b]);
    const fresh = tfl.sequential({layers: [tfl.layers.lstm({...config})]});
    ours.setWeights(fresh.getWeights());
    a = ours.predict(x) as tf.Tensor;
    b = fresh.predict(x) as tf.Tensor;
    expectClose(await a.data(), await b.data(), TOL, 'stock → ours');
    tf.dispose([a, b, x]);
    [ours, stock, fresh].forEach(m => m.dispose());
  });

  it('trains with model.fit as the stock layer does on cpu (same losses)', async () => {
    const build = (ours: boolean) => {
      const m = tfl.sequential();
      const cfg = {units: 6, inputShape: [5, 3]};
      m.add(ours ? mpsgpu.layers.lstm(cfg) : tfl.layers.lstm(cfg));
      m.add(tfl.layers.dense({units: 2, activation: 'softmax'}));
      return m;
    };
    const xs = randomValues(8 * 5 * 3, 60);
    const labels = randomValues(8, 61, 0, 1);
    const train = async (backend: string, ours: boolean) => {
      await tf.setBackend(backend);
      const m = build(ours);
      m.setWeights(m.weights.map((w, i) => tf.tensor(randomValues(w.shape.reduce((p: number, q) => p * (q as number), 1), 70 + i, -0.4, 0.4), w.shape as number[])));
      m.compile({optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy'});
      const x = tf.tensor3d(xs, [8, 5, 3]);
      const y = tf.tensor2d(Array.from(labels).flatMap(l => (l < 0.5 ? [1, 0] : [0, 1])), [8, 2]);
      const h = await m.fit(x, y, {epochs: 4, batchSize: 4, shuffle: false, verbose: 0});
      tf.dispose([x, y]);
      m.dispose();
      return h.history.loss as number[];
    };
    const expected = await train('cpu', false);
    const actual = await train('mpsgpu', true);
    expectClose(actual, expected, 1e-4, 'losses per epoch');
  });
});
