// Cross-entropy loss and its logits gradient in one row-wise CPU pass (the elementwise half of the fused LM head).
#pragma once

#include <torch/types.h>

#include <utility>

namespace tcpp::models {

/// Whether softmax_cross_entropy_grad_cpu() takes these logits: a contiguous 2-D float32 or bfloat16 CPU tensor.
bool softmax_cross_entropy_cpu_supports(const torch::Tensor& logits);

/// Turns logits (n, V) into the gradient of the summed cross-entropy, in place, and returns that summed loss:
/// each row whose target is not -100 becomes (softmax(row) - one_hot(target)) * scale and adds
/// logsumexp(row) - row[target] to the loss; rows with target -100 become zeros and add nothing. targets: int64 (n),
/// each -100 or in [0, V) (the caller checks). The same values as logsumexp / gather / exp / scatter_add with float32
/// arithmetic (bfloat16 logits are read as float32 and the gradient rounded to bfloat16 to nearest even, as
/// Tensor::to does), up to float rounding of the exponential and of the summation order; NaN or inf in a counted row
/// makes the loss non-finite as those ops do (NaN here where they may give inf). Each row is read from memory once and stays in cache for the three passes it
/// needs (max, sum of exponentials, gradient) instead of five whole-tensor passes; rows run in parallel on LibTorch's
/// intra-op threads and the loss is summed in row order (the same on any number of threads). The vector code is
/// compiled for AVX-512, AVX2 and baseline x86-64 and picked at run time.
double softmax_cross_entropy_grad_cpu(torch::Tensor& logits, const torch::Tensor& targets, double scale);

/// The same for bfloat16 logits that a GEMM accumulated and wrote in float32 (gemm_bf16_f32): each float32 logit
/// is first rounded to bfloat16 (to nearest even, the value the GEMM's bfloat16 output would have held), then the
/// row is processed as a bfloat16 row above. The gradient (bfloat16) is written over the front half of each row's
/// own memory, so no second (n, V) buffer is needed: it comes back as a (n, V) bfloat16 view of `logits` with row
/// stride 2V, together with the summed loss. `logits` (contiguous float32 CPU) is consumed.
std::pair<double, torch::Tensor> softmax_cross_entropy_grad_bf16_from_f32_cpu(torch::Tensor& logits,
                                                                               const torch::Tensor& targets,
                                                                               double scale);

}  // namespace tcpp::models
