// GnuSpeech server for kwstrain/gnuspeech_voice.py: one JSON request per stdin line
// {"text": ..., "out": "/path.wav", "files": {"voice_x.txt": "...", ...}}; the files are written
// into the synthesizer's configuration folder first. Answers one line per request: "ok" or "error <why>".
import GnuSpeech from '@echogarden/gnuspeech-wasm/wasm/gnuspeech.js';
import { writeFileSync } from 'fs';
import { createInterface } from 'readline';

const CONFIG_DIR = '/data/en';
const m = await GnuSpeech();

function cString(s) {
  const bytes = Buffer.from(s + '\0', 'utf8');
  const ptr = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, ptr);
  return ptr;
}

function synthesize(request) {
  for (const [name, content] of Object.entries(request.files || {})) {
    if (!/^[A-Za-z0-9_.]+$/.test(name)) throw new Error(`bad configuration file name ${name}`);
    m.FS.writeFile(`${CONFIG_DIR}/${name}`, content);
  }
  try { m.FS.unlink('/tmp/out.wav'); } catch (e) { /* first request */ }
  const args = [request.text, '/tmp/out.wav', CONFIG_DIR, '/tmp/params.txt'].map(cString);
  try {
    m._GnuSpeech_synthesizeToFile(args[0], args[1], args[2], args[3], 0);
  } finally {
    args.forEach((p) => m._free(p));
  }
  writeFileSync(request.out, m.FS.readFile('/tmp/out.wav'));
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    synthesize(JSON.parse(line));
    process.stdout.write('ok\n');
  } catch (e) {
    process.stdout.write(`error ${String(e && e.message ? e.message : e).replace(/\n/g, ' ')}\n`);
  }
}
