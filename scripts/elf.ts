// Reads what the dynamic loader needs to run a binary, from its ELF headers: the architecture, the program
// interpreter (PT_INTERP) and the DT_NEEDED libraries. The image's base layer is assembled from this for
// an architecture this machine may not run, where `ldd` (which runs the binary's loader) cannot help.
// Only 64-bit little-endian ELF (x86-64 and aarch64, the image's two architectures) is read.
import { closeSync, openSync, readSync } from 'node:fs';

/** The image's architectures, by their OCI names. */
export type Arch = 'amd64' | 'arm64';

/** What a dynamically linked binary or shared library asks of the loader. */
export interface ElfInfo {
  arch: Arch;
  /** PT_INTERP: the loader's absolute path; undefined for a shared library. */
  interpreter: string | undefined;
  /** DT_NEEDED sonames, in the order the loader loads them. */
  needed: string[];
}

const MACHINES: Record<number, Arch> = { 62: 'amd64', 183: 'arm64' }; // EM_X86_64, EM_AARCH64
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

/** Reads `length` bytes at `offset` of an open file (positioned reads: a Node binary is over 100 MB). */
function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, offset);
  return b.subarray(0, n);
}

/** A NUL-terminated string at `offset`. */
function cString(fd: number, offset: number): string {
  let out = '';
  for (let at = offset; ; at += 256) {
    const chunk = readAt(fd, at, 256);
    const end = chunk.indexOf(0);
    if (end >= 0) return out + chunk.subarray(0, end).toString('latin1');
    if (chunk.length === 0) throw new Error(`ELF: unterminated string at ${offset}`);
    out += chunk.toString('latin1');
  }
}

/** Reads `path`'s architecture, interpreter and needed libraries; throws on anything else than ELF64 LE. */
export function readElf(path: string): ElfInfo {
  const fd = openSync(path, 'r');
  try {
    const h = readAt(fd, 0, 64);
    if (h.length < 64 || h.toString('latin1', 0, 4) !== '\x7fELF') throw new Error(`${path}: not an ELF file`);
    if (h[4] !== 2 || h[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
    const machine = h.readUInt16LE(18);
    const arch = MACHINES[machine];
    if (!arch) throw new Error(`${path}: ELF machine ${machine} is neither x86-64 nor aarch64`);
    const phoff = Number(h.readBigUInt64LE(32));
    const phentsize = h.readUInt16LE(54);
    const phnum = h.readUInt16LE(56);
    const ph = readAt(fd, phoff, phentsize * phnum);

    let interpreter: string | undefined;
    let dynamic: { offset: number; size: number } | undefined;
    const loads: Array<{ offset: number; vaddr: number; filesz: number }> = [];
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const offset = Number(ph.readBigUInt64LE(o + 8));
      const vaddr = Number(ph.readBigUInt64LE(o + 16));
      const filesz = Number(ph.readBigUInt64LE(o + 32));
      if (type === PT_INTERP) interpreter = cString(fd, offset);
      else if (type === PT_DYNAMIC) dynamic = { offset, size: filesz };
      else if (type === PT_LOAD) loads.push({ offset, vaddr, filesz });
    }
    if (!dynamic) return { arch, interpreter, needed: [] }; // statically linked

    // DT_STRTAB holds a virtual address: the PT_LOAD segment that maps it gives its file offset.
    const dyn = readAt(fd, dynamic.offset, dynamic.size);
    const neededAt: number[] = [];
    let strtab: number | undefined;
    for (let o = 0; o + 16 <= dyn.length; o += 16) {
      const tag = dyn.readBigInt64LE(o);
      if (tag === DT_NULL) break;
      const value = Number(dyn.readBigUInt64LE(o + 8));
      if (tag === DT_NEEDED) neededAt.push(value);
      else if (tag === DT_STRTAB) strtab = value;
    }
    if (neededAt.length === 0) return { arch, interpreter, needed: [] };
    const seg = loads.find((l) => strtab !== undefined && strtab >= l.vaddr && strtab < l.vaddr + l.filesz);
    if (strtab === undefined || !seg) throw new Error(`${path}: ELF has DT_NEEDED entries but no mapped DT_STRTAB`);
    const strtabOffset = strtab - seg.vaddr + seg.offset;
    return { arch, interpreter, needed: neededAt.map((n) => cString(fd, strtabOffset + n)) };
  } finally {
    closeSync(fd);
  }
}
