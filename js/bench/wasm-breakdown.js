// Where the .wasm's code goes: the function bodies of cargo's output (before wasm-bindgen and
// wasm-opt, which shrink it), summed by crate, and by module for learner_sync, from the names
// the linker keeps. Generic code is counted where it was instantiated from (a drop or a sort of
// the engine's types under `core`). The figures are raw bytes, for comparing parts and builds,
// not the shipped size (scripts/size.sh prints that).
//   node js/bench/wasm-breakdown.js target/wasm32-unknown-unknown/release/learner_sync.wasm [TOP]
import { readFileSync } from 'node:fs';

const [file, top = '15'] = process.argv.slice(2);
const buf = readFileSync(file);
let p = 8; // after the magic and the version
const leb = () => {
  let r = 0;
  let shift = 0;
  let b;
  do {
    b = buf[p++];
    r += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return r;
};

let importedFunctions = 0;
const bodies = [];
const names = new Map();
let data = 0;
while (p < buf.length) {
  const id = buf[p++];
  const size = leb();
  const end = p + size; // (p after the size's own bytes)
  if (id === 2) {
    // imports: only the functions shift the function index space
    for (let n = leb(); n > 0; n--) {
      p += leb();
      p += leb();
      const kind = buf[p++];
      if (kind === 0) (leb(), importedFunctions++);
      else if (kind === 1) (p++, (leb() & 1 ? (leb(), leb()) : leb()));
      else if (kind === 2) leb() & 1 ? (leb(), leb()) : leb();
      else if (kind === 3) p += 2;
    }
  } else if (id === 10) {
    for (let n = leb(); n > 0; n--) {
      const s = leb();
      bodies.push(s);
      p += s;
    }
  } else if (id === 11) {
    data = size;
  } else if (id === 0) {
    const len = leb();
    const custom = buf.toString('utf8', p, p + len);
    p += len;
    while (custom === 'name' && p < end) {
      const sub = buf[p++];
      const subSize = leb();
      const subEnd = p + subSize;
      if (sub === 1) {
        for (let n = leb(); n > 0; n--) {
          const index = leb();
          const l = leb();
          names.set(index, buf.toString('utf8', p, p + l));
          p += l;
        }
      }
      p = subEnd;
    }
  }
  p = end;
}

/** The crate (and, for learner_sync, the module) a mangled name belongs to. */
function owner(name) {
  if (name.startsWith('__wbindgen_describe')) return 'wasm-bindgen descriptors (the CLI removes them)';
  if (name.startsWith('__wbg') || name.startsWith('__wbindgen')) return 'wasm-bindgen glue';
  if (name.startsWith('_R')) {
    // v0 mangling: the first crate root C…_<len><name>
    const m = name.match(/C(?:s[0-9A-Za-z]*_)?(\d+)/);
    return m ? name.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1])) : 'other';
  }
  if (!name.startsWith('_ZN')) return 'exports and others';
  const segs = [];
  for (let q = 3; q < name.length && /[0-9]/.test(name[q]); ) {
    const len = parseInt(name.slice(q), 10);
    q += String(len).length;
    segs.push(name.slice(q, q + len));
    q += len;
  }
  // `<A as B>::f` is counted under A's crate
  const path = /^_?\$LT\$/.test(segs[0]) ? segs[0].replace(/^_?\$LT\$/, '').replace(/\$RF\$|mut\$u20\$/g, '').split('..') : segs;
  // `<T as core::fmt::Debug>`: a generic T, counted under the trait's crate
  const generic = path[0].match(/^[A-Za-z]\$u20\$as\$u20\$(\w+)/);
  if (generic) return generic[1];
  return path[0] === 'learner_sync' && path[1] ? `learner_sync::${path[1].replace(/\$.*$/, '')}` : path[0];
}

const total = bodies.reduce((a, b) => a + b, 0);
const by = new Map();
bodies.forEach((size, i) => {
  const key = owner(names.get(importedFunctions + i) ?? '');
  by.set(key, (by.get(key) ?? 0) + size);
});
console.log(`${file}: ${bodies.length} functions, ${total} bytes of code, ${data} bytes of data`);
for (const [key, size] of [...by].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`${String(size).padStart(9)} ${((100 * size) / total).toFixed(1).padStart(5)}%  ${key}`);
}
