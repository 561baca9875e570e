// Float vectors for the CPU kernels of models/common (GCC/Clang vector extensions): exp, loads and stores of float32
// and bfloat16, horizontal max and sum. Included by those kernels' .cpp files only; every helper is always inlined
// into functions compiled with TCPP_VECTOR_CLONES, so each clone gets its target's instructions.
#pragma once

#include <cstdint>
#include <cstring>

namespace tcpp::models::vec {

// GCC/Clang vector extensions: 16 float lanes, lowered to one AVX-512 register, two AVX2 or four SSE registers by
// the target each clone is compiled for.
constexpr int kLanes = 16;
using vf = float __attribute__((vector_size(64)));
using vi = int32_t __attribute__((vector_size(64)));
using vu = uint32_t __attribute__((vector_size(64)));
using vh = uint16_t __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define TCPP_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TCPP_VECTOR_CLONES
#endif
#define TCPP_INLINE inline __attribute__((always_inline))

// Vectors pass between always-inlined helpers only, so the ABI note GCC gives for 64-byte vectors does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

TCPP_INLINE vf splat(float x) { return vf{} + x; }

// exp(x) for float lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by Cephes' degree-6 polynomial (~1 ulp), 2^n put
// into the exponent. Below -87.34 (where floats turn denormal) the result is 0; NaN stays NaN.
TCPP_INLINE vf vexp(vf x) {
  const vf lo = splat(-87.33654475f), hi = splat(88.3762626647949f);
  vi nan = x != x;
  vi under = x < lo;
  vf c = x < lo ? lo : (x > hi ? hi : x);
  c = nan ? splat(0.0f) : c;
  const vf magic = splat(12582912.0f);  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  vf n = (c * splat(1.44269504088896341f) + magic) - magic;
  vf r = c - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  vf p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  vf y = p * r * r + r + splat(1.0f);
  vu bits = (vu)y + ((vu)__builtin_convertvector(n, vi) << 23);
  vf out = (vf)bits;
  out = under ? splat(0.0f) : out;
  return nan ? x : out;
}

TCPP_INLINE vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
TCPP_INLINE vf load(const uint16_t* p) {  // bfloat16: the upper half of a float
  vh h;
  std::memcpy(&h, p, sizeof h);
  vu u = __builtin_convertvector(h, vu) << 16;
  return (vf)u;
}
TCPP_INLINE void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
TCPP_INLINE void store(uint16_t* p, vf v) {  // round to nearest even, NaN kept quiet (c10::BFloat16's rounding)
  vu u = (vu)v;
  vu rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  rounded = v != v ? vu{} + 0x7fc0u : rounded;
  vh h = __builtin_convertvector(rounded, vh);
  std::memcpy(p, &h, sizeof h);
}

TCPP_INLINE float load_scalar(const float* p) { return *p; }
TCPP_INLINE float load_scalar(const uint16_t* p) {
  uint32_t u = uint32_t(*p) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
TCPP_INLINE void store_scalar(float* p, float x) { *p = x; }
TCPP_INLINE void store_scalar(uint16_t* p, float x) {
  float lanes[kLanes] = {x};
  uint16_t out[kLanes];
  store(out, load(lanes));
  *p = out[0];
}

TCPP_INLINE float hmax(vf v) {
  float m = v[0];
  for (int l = 1; l < kLanes; ++l) m = v[l] > m ? v[l] : m;
  return m;
}
TCPP_INLINE float hsum(vf v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

}  // namespace tcpp::models::vec
