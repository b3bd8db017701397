// Golden values for shared/checksum-4gib.test.ts: XXH32 by libxxhash 0.8.1 (the reference
// implementation, Debian libxxhash0) and CRC-32C by the SSE4.2 crc32 instruction, of the bytes
// b[i] = (i * 31 + 7) & 0xff at lengths around 2^31 and 2^32. Build and run:
//   gcc -O2 -msse4.2 checksum-4gib.c -o /tmp/checksum-4gib /usr/lib/x86_64-linux-gnu/libxxhash.so.0 && /tmp/checksum-4gib
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <nmmintrin.h>
typedef struct XXH32_state_s XXH32_state_t;
XXH32_state_t* XXH32_createState(void);
int XXH32_reset(XXH32_state_t*, unsigned);
int XXH32_update(XXH32_state_t*, const void*, size_t);
unsigned XXH32_digest(const XXH32_state_t*);
int main(void) {
  const size_t BUF = 1 << 20;
  uint8_t *b = malloc(BUF);
  for (size_t i = 0; i < BUF; i++) b[i] = (uint8_t)((i * 31 + 7) & 0xff);
  const uint64_t marks[] = {(1ull<<31)-1, 1ull<<31, (1ull<<32)-1, 1ull<<32, (1ull<<32)+8};
  XXH32_state_t *s = XXH32_createState(); XXH32_reset(s, 0);
  uint64_t crc = 0xffffffff; uint64_t pos = 0;
  for (int m = 0; m < 5; m++) {
    while (pos < marks[m]) {
      size_t off = pos % BUF; size_t n = BUF - off; if (n > marks[m] - pos) n = marks[m] - pos;
      XXH32_update(s, b + off, n);
      for (size_t k = 0; k < n; k++) crc = _mm_crc32_u8((uint32_t)crc, b[off + k]);
      pos += n;
    }
    printf("%llu xxh32=0x%08x crc32c=0x%08x\n", (unsigned long long)pos, XXH32_digest(s), (uint32_t)(crc ^ 0xffffffff));
  }
  return 0;
}
