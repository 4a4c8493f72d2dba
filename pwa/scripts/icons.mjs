// Draws the app icons (a white heart in a hand-drawn circle of theme colour) as PNG files
// into public/icons/, with nothing but Node's zlib: no image tool to install, and the
// icons are made by the build instead of being binary files kept by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const THEME = [0xc0, 0x39, 0x2b]; // #c0392b, the manifest's theme_color
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'public', 'icons');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const rows = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// Heart curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, in a box about [-1.2, 1.2] x [-1, 1.3].
function inHeart(x, y) {
  const a = x * x + y * y - 1;
  return a * a * a - x * x * y * y * y <= 0;
}

/** `maskable`: full-bleed background, heart inside the 80% safe zone. */
function draw(size, maskable) {
  const rgba = Buffer.alloc(size * size * 4);
  const samples = 4;
  const heartScale = maskable ? 0.2 : 0.26;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0, heart = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const u = (px + (sx + 0.5) / samples) / size - 0.5;
          const v = (py + (sy + 0.5) / samples) / size - 0.5;
          const inBg = maskable || u * u + v * v <= 0.25;
          if (!inBg) continue;
          bg++;
          if (inHeart(u / heartScale, -v / heartScale + 0.12)) heart++;
        }
      }
      const n = samples * samples;
      const o = (py * size + px) * 4;
      const h = heart / Math.max(bg, 1);
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.round(THEME[c] * (1 - h) + 255 * h);
      rgba[o + 3] = Math.round((255 * bg) / n);
    }
  }
  return png(size, rgba);
}

mkdirSync(OUT, { recursive: true });
const files = [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['maskable-512.png', 512, true],
  ['apple-touch-icon.png', 180, true],
  ['favicon-32.png', 32, false],
];
for (const [name, size, maskable] of files) writeFileSync(join(OUT, name), draw(size, maskable));
console.log(`icons: ${files.map(([n]) => n).join(', ')} -> public/icons/`);

/** An ICO file holding PNG images (read by every browser since 2007): browsers and the
 *  server's public pages ask for /favicon.ico whatever the page links. */
function ico(images) {
  const header = Buffer.alloc(6 + 16 * images.length);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(images.length, 4);
  let offset = header.length;
  images.forEach(([size, data], i) => {
    const at = 6 + 16 * i;
    header[at] = size; // width and height (0 would mean 256)
    header[at + 1] = size;
    header.writeUInt16LE(1, at + 4); // colour planes
    header.writeUInt16LE(32, at + 6); // bits per pixel
    header.writeUInt32LE(data.length, at + 8);
    header.writeUInt32LE(offset, at + 12);
    offset += data.length;
  });
  return Buffer.concat([header, ...images.map(([, data]) => data)]);
}
writeFileSync(join(OUT, '..', 'favicon.ico'), ico([[16, draw(16, false)], [32, draw(32, false)], [48, draw(48, false)]]));
console.log('icons: favicon.ico -> public/');
