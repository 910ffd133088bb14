/**
 * One tile of a picture of the Mandelbrot set, as a Barnraise job: plain JavaScript with no imports, so
 * mandelbrot.ts sends this file as it is. Each pixel is coloured by its smoothed escape time (black inside
 * the set); the tile comes back as base64 of its RGB bytes, row by row (a 64×64 tile is 16 KB of JSON).
 *
 * @typedef {object} Tile
 * @property {number} x left edge of the tile, in pixels of the whole picture
 * @property {number} y top edge
 * @property {number} w width of the tile in pixels
 * @property {number} h height
 * @property {number} width width of the whole picture in pixels
 * @property {number} height height of the whole picture
 * @property {number} re real part at the picture's centre
 * @property {number} im imaginary part at the picture's centre
 * @property {number} span width of the picture on the complex plane
 * @property {number} iterations iterations before a point counts as inside the set
 */

/** |z|² past which a point has escaped: a large radius makes the smoothed colouring smooth. */
const BAILOUT = 256 * 256;

/**
 * RGB of a point that escaped after `n` smoothed iterations: a cosine palette (Inigo Quilez's), from deep blue
 * through white to gold, cycling slowly so that the bands near the set stay apart.
 * @param {number} n
 * @returns {[number, number, number]}
 */
function colour(n) {
  const t = Math.sqrt(n) * 0.09;
  const c = (/** @type {number} */ phase) => Math.round(255 * (0.5 + 0.5 * Math.cos(2 * Math.PI * (t + phase))));
  return [c(0.5), c(0.6), c(0.75)];
}

/**
 * @param {Tile} tile
 * @returns {string} base64 of w × h × 3 bytes
 */
export default function renderTile({ x, y, w, h, width, height, re, im, span, iterations }) {
  const scale = span / width;
  const rgb = new Uint8Array(w * h * 3);
  for (let py = 0; py < h; py++) {
    const ci = im - (y + py + 0.5 - height / 2) * scale;
    for (let px = 0; px < w; px++) {
      const cr = re + (x + px + 0.5 - width / 2) * scale;
      let zr = 0;
      let zi = 0;
      let n = 0;
      let m = 0;
      while (n < iterations && (m = zr * zr + zi * zi) <= BAILOUT) {
        const t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
      }
      if (n < iterations) {
        const [r, g, b] = colour(n + 1 - Math.log2(Math.log2(m) / 2));
        const o = (py * w + px) * 3;
        rgb[o] = r;
        rgb[o + 1] = g;
        rgb[o + 2] = b;
      }
    }
  }
  // btoa takes a "binary string", one character per byte; built in chunks (spreading 12 KB as arguments is
  // near some engines' limits).
  let binary = '';
  for (let i = 0; i < rgb.length; i += 4096) binary += String.fromCharCode(...rgb.subarray(i, i + 4096));
  return btoa(binary);
}
