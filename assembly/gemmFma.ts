/**
 * The products with fused multiply-adds: `gemm` compiled with relaxed SIMD, so that `madd` in gemm.ts
 * is `f32x4.relaxed_madd`. A module of its own, instantiated over the kernels module's memory only
 * where the engine accepts relaxed SIMD and fuses the multiply-add (one rounding instead of two); all
 * other kernels stay those of the plain module.
 */
export { gemm } from './gemm'
