// The elementwise builder: broadcasting, strided views, and one pipeline for every shape.
import * as tf from '@tensorflow/tfjs-core';

import {constant, elementwiseProgram, input, op} from '../src/codegen/elementwise.js';
import {Program} from '../src/codegen/program.js';
import {dispatch1D} from '../src/codegen/shader.js';
import {MpsgpuBackend, mpsgpu} from '../src/index.js';
import {randomValues} from './util.js';

describe('codegen: elementwise builder', () => {
  let backend: MpsgpuBackend;
  beforeAll(async () => {
    await tf.setBackend('mpsgpu');
    backend = tf.backend() as MpsgpuBackend;
  });

  function run(program: ReturnType<typeof elementwiseProgram>, inputs: tf.Tensor[], shape: number[]) {
    const info = backend.runProgram(program, inputs, shape, 'float32');
    return tf.engine().makeTensorFromTensorInfo(info);
  }

  it('reads a strided view: a transpose and an offset slice without copies', async () => {
    const values = randomValues(12, 3);
    const x = tf.tensor(values, [3, 4]);
    const twice = op('$0 * $1', 'f32', [input(0, 'f32'), constant(2, 'f32')]);
    // x^T: out[i][j] = x[j][i] → strides [1, 4].
    const t = run(elementwiseProgram('T', twice, [{shape: [4, 3], type: 'f32', view: {strides: [1, 4], offset: 0}}], [4, 3], 'f32'), [x], [4, 3]);
    // x[1:3, 1:3]: strides [4, 1], offset 5.
    const s = run(elementwiseProgram('S', twice, [{shape: [2, 2], type: 'f32', view: {strides: [4, 1], offset: 5}}], [2, 2], 'f32'), [x], [2, 2]);
    const expectT = await tf.tidy(() => x.transpose().mul(2)).data();
    const expectS = await tf.tidy(() => x.slice([1, 1], [2, 2]).mul(2)).data();
    expect(Array.from(await t.data())).toEqual(Array.from(expectT));
    expect(Array.from(await s.data())).toEqual(Array.from(expectS));
    tf.dispose([x, t, s]);
  });

  it('broadcasts any rank and compiles one pipeline for every shape of a rank', async () => {
    const sum = op('$0 + $1', 'f32', [input(0, 'f32'), input(1, 'f32')]);
    const make = (sa: number[], sb: number[], out: number[]) =>
      elementwiseProgram('Add', sum, [{shape: sa, type: 'f32'}, {shape: sb, type: 'f32'}], out, 'f32');
    const a = tf.tensor(randomValues(2 * 3 * 4 * 5, 1), [2, 3, 4, 5]);
    const b = tf.tensor(randomValues(4, 2), [4, 1]);
    const r1 = run(make(a.shape, b.shape, [2, 3, 4, 5]), [a, b], [2, 3, 4, 5]);
    await r1.data();
    const compiled = mpsgpu.stats().pipelinesCompiled;
    const a2 = tf.tensor(randomValues(3 * 2 * 7 * 2, 4), [3, 2, 7, 2]);
    const b2 = tf.tensor(randomValues(7, 5), [7, 1]);
    const r2 = run(make(a2.shape, b2.shape, [3, 2, 7, 2]), [a2, b2], [3, 2, 7, 2]);
    const got = await r2.data();
    expect(mpsgpu.stats().pipelinesCompiled).toBe(compiled);
    const want = await tf.tidy(() => a2.add(b2)).data();
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Array.from(await r1.data())).toEqual(Array.from(await tf.tidy(() => a.add(b)).data()));
    tf.dispose([a, b, r1, a2, b2, r2]);
  });

  it('a repeated program runs its iterations in order, each reading what the one before wrote', async () => {
    // A running product along the rows: row k+1 = row k * x[k] + 1, one dispatch per row.
    const rows = 37, cols = 70;
    const xv = randomValues(rows * cols, 8, 0.5, 1.5);
    const x = tf.tensor(xv, [rows, cols]);
    const program: Program = {
      name: 'RunningProduct', key: 'test-running-product',
      uniforms: [{name: 'cols', type: 'u32', value: cols}, {name: 'row', type: 'u32', value: 0}],
      dispatch: dispatch1D(cols, 64),
      repeat: {count: rows, uniform: 'row'},
      shader: () => ({
        inputs: [{name: 'x', type: 'f32'}], outputs: [{name: 'out', type: 'f32'}], workgroupSize: [64, 1, 1], declarations: '',
        body: `
  let c = flatId;
  if (c >= u.cols) { return; }
  let prev = select(out[(u.row - 1u) * u.cols + c], 1.0, u.row == 0u);
  out[u.row * u.cols + c] = prev * x[u.row * u.cols + c] + 1.0;`,
      }),
    };
    mpsgpu.resetStats();
    const y = tf.engine().makeTensorFromTensorInfo(backend.runProgram(program, [x], [rows, cols], 'float32'));
    const got = await y.data();
    expect(mpsgpu.stats().dispatches).toBe(rows);
    const want = new Float64Array(cols).fill(1);
    for (let r = 0; r < rows; ++r) {
      for (let c = 0; c < cols; ++c) {
        want[c] = Math.fround(want[c] * xv[r * cols + c] + 1);
        expect(Math.abs(got[r * cols + c] - want[c])).toBeLessThanOrEqual(1e-5 * Math.abs(want[c]), `row ${r} col ${c}`);
      }
    }
    tf.dispose([x, y]);
  });
});
