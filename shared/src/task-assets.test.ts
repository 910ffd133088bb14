import { describe, expect, it } from 'vitest';
import { AssetShelf, NO_ASSETS, type HandedAsset } from './task-assets.ts';
import { ADD_WASM } from './testing/add-wasm.ts';

const asset = (name: string, bytes: Uint8Array, sha256 = name.padEnd(64, '0')): HandedAsset => ({ name, sha256, size: bytes.length, source: bytes });

function shelf(budget?: number) {
  const reads: string[] = [];
  const s = new AssetShelf(async (a) => {
    reads.push(a.name);
    return (a.source as Uint8Array).slice();
  }, budget);
  return { s, reads };
}

describe('[A6] ctx.assets in a compute thread', () => {
  it('gives bytes, text, JSON and a compiled WebAssembly module by name, each made once per thread', async () => {
    const { s, reads } = shelf();
    const data = new TextEncoder().encode(JSON.stringify({ k: [1, 2] }));
    const list = [asset('add.wasm', ADD_WASM, 'a'.repeat(64)), asset('data.json', data, 'b'.repeat(64))];
    const first = await s.open(list);
    const again = await s.open(list);
    expect(reads).toEqual(['add.wasm', 'data.json']);
    expect(first.names).toEqual(['add.wasm', 'data.json']);
    expect(first.bytes('data.json')).toBe(again.bytes('data.json'));
    expect(first.text('data.json')).toBe('{"k":[1,2]}');
    expect(first.json('data.json')).toEqual({ k: [1, 2] });
    expect(first.json('data.json')).toBe(again.json('data.json'));
    const mod = await first.wasm('add.wasm');
    expect(await again.wasm('add.wasm')).toBe(mod);
    const { exports } = (await WebAssembly.instantiate(mod as WebAssembly.Module)) as { exports: { add(a: number, b: number): number } };
    expect(exports.add(40, 2)).toBe(42);
  });

  it('a second job naming the same hash under another name shares the bytes and the module', async () => {
    const { s, reads } = shelf();
    const one = await s.open([asset('add.wasm', ADD_WASM, 'c'.repeat(64))]);
    const two = await s.open([asset('plus.wasm', ADD_WASM, 'c'.repeat(64))]);
    expect(reads).toHaveLength(1);
    expect(await two.wasm('plus.wasm')).toBe(await one.wasm('add.wasm'));
  });

  it('an unknown name throws naming the job\'s assets; a job without assets has none', async () => {
    const { s } = shelf();
    const a = await s.open([asset('x', new Uint8Array(1))]);
    expect(() => a.bytes('y')).toThrow('no asset named "y": this job\'s assets are "x"');
    await expect(a.wasm('y')).rejects.toThrow(RangeError);
    expect(await s.open([])).toBe(NO_ASSETS);
    expect(() => NO_ASSETS.text('x')).toThrow('this job names no assets');
  });

  it('bytes of another size than the job says are refused; a module that does not compile says why, every time', async () => {
    const { s } = shelf();
    await expect(s.open([{ ...asset('short', new Uint8Array(3)), size: 4 }])).rejects.toThrow('asset "short" has 3 bytes, 4 expected');
    const bad = await s.open([asset('bad.wasm', new Uint8Array([1, 2, 3]))]);
    await expect(bad.wasm('bad.wasm')).rejects.toThrow(WebAssembly.CompileError);
    await expect(bad.wasm('bad.wasm')).rejects.toThrow(WebAssembly.CompileError);
  });

  it('lets go of other jobs\' assets beyond its budget, least recently used first, never of the job it opens', async () => {
    const { s, reads } = shelf(250);
    const a = asset('a', new Uint8Array(100), 'a'.repeat(64));
    const b = asset('b', new Uint8Array(100), 'b'.repeat(64));
    const c = asset('c', new Uint8Array(100), 'c'.repeat(64));
    await s.open([a]);
    await s.open([b]);
    await s.open([a]);
    await s.open([c]);
    expect(s.held).toBe(200);
    await s.open([a]);
    expect(reads, 'a stayed (used last), b went').toEqual(['a', 'b', 'c']);
    await s.open([b]);
    expect(reads).toEqual(['a', 'b', 'c', 'b']);
    const big = asset('big', new Uint8Array(400), 'd'.repeat(64));
    const opened = await s.open([big]);
    expect(opened.bytes('big').length, 'the current job\'s asset stays, over budget or not').toBe(400);
    expect(s.held).toBe(400);
  });

  it('loads an asset once when several attempts open it at the same time', async () => {
    const { s, reads } = shelf();
    const x = asset('x', new Uint8Array(10));
    const [p, q] = await Promise.all([s.open([x]), s.open([x])]);
    expect(reads).toEqual(['x']);
    expect(p.bytes('x')).toBe(q.bytes('x'));
  });
});
