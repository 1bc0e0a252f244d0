// scripts/elf.ts reads a binary's architecture, program interpreter and DT_NEEDED libraries from its ELF
// headers, so the image's base layer can be assembled for an architecture this machine cannot run (no ldd
// on a foreign binary). Checked on the real Node binary npm ci installed and on a made-up aarch64 ELF.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readElf } from '../../../scripts/elf.ts';

const root = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'baton-elf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A minimal little-endian ELF64 executable: a PT_INTERP, one PT_LOAD mapping file offset 0 at `base`,
 * and a PT_DYNAMIC whose DT_STRTAB is a virtual address (as in a real binary) and DT_NEEDED offsets into it.
 */
function fakeElf(machine: number, interpreter: string, needed: string[], base = 0x400000): Buffer {
  const ehsize = 64;
  const phentsize = 56;
  const phnum = 3;
  const interpOff = ehsize + phnum * phentsize;
  const interp = Buffer.from(`${interpreter}\0`);
  const strOff = interpOff + interp.length;
  const names = needed.map((n) => Buffer.from(`${n}\0`));
  const strtab = Buffer.concat([Buffer.from([0]), ...names]);
  const dynOff = Math.ceil((strOff + strtab.length) / 8) * 8;
  const dyn = Buffer.alloc((needed.length + 2) * 16);
  let at = 1;
  needed.forEach((_, i) => {
    dyn.writeBigInt64LE(1n, i * 16); // DT_NEEDED
    dyn.writeBigUInt64LE(BigInt(at), i * 16 + 8);
    at += names[i]!.length;
  });
  dyn.writeBigInt64LE(5n, needed.length * 16); // DT_STRTAB, a virtual address
  dyn.writeBigUInt64LE(BigInt(base + strOff), needed.length * 16 + 8);
  // DT_NULL ends the table (already zero).
  const size = dynOff + dyn.length;
  const b = Buffer.alloc(size);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1; // EV_CURRENT
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeBigUInt64LE(BigInt(ehsize), 32); // e_phoff
  b.writeUInt16LE(ehsize, 52);
  b.writeUInt16LE(phentsize, 54);
  b.writeUInt16LE(phnum, 56);
  const ph = (i: number, type: number, offset: number, vaddr: number, filesz: number) => {
    const o = ehsize + i * phentsize;
    b.writeUInt32LE(type, o);
    b.writeBigUInt64LE(BigInt(offset), o + 8);
    b.writeBigUInt64LE(BigInt(vaddr), o + 16);
    b.writeBigUInt64LE(BigInt(filesz), o + 32);
    b.writeBigUInt64LE(BigInt(filesz), o + 40);
  };
  ph(0, 3, interpOff, base + interpOff, interp.length); // PT_INTERP
  ph(1, 1, 0, base, size); // PT_LOAD
  ph(2, 2, dynOff, base + dynOff, dyn.length); // PT_DYNAMIC
  interp.copy(b, interpOff);
  strtab.copy(b, strOff);
  dyn.copy(b, dynOff);
  return b;
}

describe('readElf', () => {
  it('reads the Node binary npm ci installed: x86-64, its loader and the glibc/libstdc++ libraries it needs', () => {
    const elf = readElf(join(root, 'node_modules', 'node', 'bin', 'node'));
    expect(elf.arch).toBe('amd64');
    expect(elf.interpreter).toBe('/lib64/ld-linux-x86-64.so.2');
    expect(elf.needed).toEqual(expect.arrayContaining(['libc.so.6', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1']));
  });

  it('reads an aarch64 binary, mapping DT_STRTAB from its virtual address to the file', () => {
    const file = join(dir, 'arm64');
    writeFileSync(file, fakeElf(183, '/lib/ld-linux-aarch64.so.1', ['libdl.so.2', 'libstdc++.so.6', 'libc.so.6']));
    expect(readElf(file)).toEqual({ arch: 'arm64', interpreter: '/lib/ld-linux-aarch64.so.1', needed: ['libdl.so.2', 'libstdc++.so.6', 'libc.so.6'] });
  });

  it('reads a shared library (no interpreter) and refuses what is not a 64-bit little-endian ELF of a known machine', () => {
    const lib = join(dir, 'lib');
    const noInterp = fakeElf(62, '', ['libc.so.6']);
    noInterp.writeUInt32LE(6, 64); // PT_INTERP → PT_PHDR: no interpreter
    writeFileSync(lib, noInterp);
    expect(readElf(lib)).toEqual({ arch: 'amd64', interpreter: undefined, needed: ['libc.so.6'] });

    const text = join(dir, 'text');
    writeFileSync(text, '#!/bin/sh\necho not an ELF file, but long enough to have a header of sixty-four bytes\n');
    expect(() => readElf(text)).toThrow(/not an ELF file/);
    const riscv = join(dir, 'riscv');
    writeFileSync(riscv, fakeElf(243, '/lib/ld-linux-riscv64-lp64d.so.1', []));
    expect(() => readElf(riscv)).toThrow(/machine 243/);
    const elf32 = fakeElf(62, '/x', []);
    elf32[4] = 1;
    writeFileSync(join(dir, 'elf32'), elf32);
    expect(() => readElf(join(dir, 'elf32'))).toThrow(/64-bit little-endian/);
  });
});
