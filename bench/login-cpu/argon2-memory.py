#!/usr/bin/env python3
"""argon2-memory.py LIBSODIUM_SO [HASHES]: where an Argon2id hash's CPU goes besides the algorithm (bench/README.md,
"Login POST: where the CPU goes"; docs/decisions.md #43). One process, one thread, CafConnect's parameters (m=19456 KiB,
t=2, p=1), rounds alternating:
  - libsodium's crypto_pwhash (what NSec calls): it maps fresh memory (mmap MAP_POPULATE) for each hash and unmaps it;
  - Debian's reference libargon2 (libargon2-1) with its own allocation, and with one reused, pre-faulted buffer given
    through argon2_ctx's allocate_cbk/free_cbk (the library still wipes it before the free callback);
  - the kernel's part alone: mmap + MAP_POPULATE + munmap of 19 MiB in 4 KiB pages, and the same advised MADV_HUGEPAGE
    (what the host's transparent huge pages in `always` mode would give libsodium's mapping).
Checks first that the three hashes are byte-identical. Prints user/system CPU and minor faults per hash.
"""
import ctypes, mmap, os, resource, sys, time

sodium = ctypes.CDLL(sys.argv[1])
argon = ctypes.CDLL("libargon2.so.1")
libc = ctypes.CDLL("libc.so.6", use_errno=True)
assert sodium.sodium_init() >= 0
M, T = 19456, 2
N = int(sys.argv[2]) if len(sys.argv) > 2 else 40
SIZE = M * 1024
pwd = b"Vacances9Bretagne"
salt = os.urandom(16)

argon.argon2id_hash_raw.argtypes = [ctypes.c_uint32] * 3 + [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
sodium.crypto_pwhash.argtypes = [ctypes.c_void_p, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

ALLOC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t)
FREE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_size_t)


class Argon2Context(ctypes.Structure):  # argon2.h, struct Argon2_Context (20171227)
    _fields_ = [("out", ctypes.c_void_p), ("outlen", ctypes.c_uint32), ("pwd", ctypes.c_void_p), ("pwdlen", ctypes.c_uint32),
                ("salt", ctypes.c_void_p), ("saltlen", ctypes.c_uint32), ("secret", ctypes.c_void_p), ("secretlen", ctypes.c_uint32),
                ("ad", ctypes.c_void_p), ("adlen", ctypes.c_uint32), ("t_cost", ctypes.c_uint32), ("m_cost", ctypes.c_uint32),
                ("lanes", ctypes.c_uint32), ("threads", ctypes.c_uint32), ("version", ctypes.c_uint32),
                ("allocate_cbk", ALLOC), ("free_cbk", FREE), ("flags", ctypes.c_uint32)]


reused = ctypes.create_string_buffer(SIZE)
ctypes.memset(reused, 1, SIZE)  # faulted in once


@ALLOC
def allocate(pointer, size):
    if size > SIZE:
        return -22  # ARGON2_MEMORY_ALLOCATION_ERROR
    pointer[0] = ctypes.addressof(reused)
    return 0


@FREE
def release(pointer, size):
    pass


def libsodium():
    out = ctypes.create_string_buffer(32)
    assert sodium.crypto_pwhash(out, 32, pwd, len(pwd), salt, T, SIZE, 2) == 0  # crypto_pwhash_ALG_ARGON2ID13
    return out.raw


def libargon2_own_allocation():
    out = ctypes.create_string_buffer(32)
    assert argon.argon2id_hash_raw(T, M, 1, pwd, len(pwd), salt, 16, out, 32) == 0
    return out.raw


def libargon2_reused_buffer():
    out = ctypes.create_string_buffer(32)
    password = ctypes.create_string_buffer(pwd)
    context = Argon2Context(ctypes.addressof(out), 32, ctypes.addressof(password), len(pwd), ctypes.cast(salt, ctypes.c_void_p), 16,
                            None, 0, None, 0, T, M, 1, 1, 0x13, allocate, release, 0)
    assert argon.argon2_ctx(ctypes.byref(context), 2) == 0  # Argon2_id
    return out.raw


def kernel_4k_pages():
    p = libc.mmap(None, SIZE, 3, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x8000, -1, 0)  # MAP_POPULATE, as libsodium
    libc.munmap(p, SIZE)


def kernel_huge_pages():
    p = libc.mmap(None, SIZE, 3, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    libc.madvise(p, SIZE, 14)  # MADV_HUGEPAGE
    assert libc.madvise(p, SIZE, 23) == 0  # MADV_POPULATE_WRITE
    libc.munmap(p, SIZE)


def measure(function):
    before, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
    for _ in range(N):
        function()
    after, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time() - cpu
    return (f"{cpu * 1000 / N:6.2f} ms (user {(after.ru_utime - before.ru_utime) * 1000 / N:5.2f}, system {(after.ru_stime - before.ru_stime) * 1000 / N:5.2f}),"
            f" {(after.ru_minflt - before.ru_minflt) / N:5.0f} faults")


reference = libsodium()
assert libargon2_own_allocation() == reference and libargon2_reused_buffer() == reference
print(f"identical output; m={M} KiB t={T} p=1, {N} per round; load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
for round_ in range(3):
    for function in (libsodium, libargon2_own_allocation, libargon2_reused_buffer, kernel_4k_pages, kernel_huge_pages):
        print(f"  round {round_ + 1} {function.__name__:26} {measure(function)}")
print(f"load average {' '.join(open('/proc/loadavg').read().split()[:3])}")
