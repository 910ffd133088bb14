/** Cutting a picture of the Mandelbrot set into tiles (the tasks) and putting their pixels back together. */
import type { Tile } from './tile.js';

/** What to draw: the picture's size, where it looks on the complex plane, and how hard. */
export interface View {
  width: number;
  height: number;
  /** Side of a square tile in pixels (the tiles on the right and bottom edges may be smaller). */
  tile: number;
  re: number;
  im: number;
  span: number;
  iterations: number;
}

/** The whole set, 1024 × 768, in 64 × 64 tiles: 192 tasks. */
export const DEFAULT_VIEW: View = { width: 1024, height: 768, tile: 64, re: -0.75, im: 0, span: 3.2, iterations: 1000 };

/** The tiles of a view, row by row: one task each. */
export function tilesOf(v: View): Tile[] {
  const tiles: Tile[] = [];
  for (let y = 0; y < v.height; y += v.tile) {
    for (let x = 0; x < v.width; x += v.tile) {
      tiles.push({ x, y, w: Math.min(v.tile, v.width - x), h: Math.min(v.tile, v.height - y), width: v.width, height: v.height, re: v.re, im: v.im, span: v.span, iterations: v.iterations });
    }
  }
  return tiles;
}

/** Copy a tile's RGB bytes (base64, as the job returns them) into the picture's RGB bytes. */
export function paint(picture: Uint8Array, width: number, tile: Tile, base64: string): void {
  const rgb = Buffer.from(base64, 'base64');
  if (rgb.length !== tile.w * tile.h * 3) throw new Error(`tile at ${tile.x},${tile.y}: ${rgb.length} bytes, expected ${tile.w * tile.h * 3}`);
  for (let row = 0; row < tile.h; row++) {
    rgb.copy(picture, ((tile.y + row) * width + tile.x) * 3, row * tile.w * 3, (row + 1) * tile.w * 3);
  }
}
