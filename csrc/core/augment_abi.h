// augment_abi.h — the augmentation ABI: everything the kernels and Python must agree on, defined once.
//
//   OpCode, Stage    the op catalogue (DESIGN.md "Augmentation ops") and the canonical stage order
//   limits           kMaxOps, kMaxJoints, kMaxResamplingOps, kMaxSegments, kMaxBlurRadius, ...
//   OpSpec, Program  an op list as the kernels read it: per op 4 int and 8 float argument slots
//   Record           the 32 int32 words of sampled parameters of one (view, sample, op)
//   <Op> structs     per op: the names of its argument slots (IntArg, FloatArg) and record words (Word)
//   AugmentArgs      the launchers' argument struct (cpu/augment_cpu.h, cuda/augment_cuda.h)
//   kAbiOps, kAbiArgs, kAbiFields   the same names as tables, exported by mgclr._C.augment_abi()
//
// Python reads all of it from the extension (python/mgclr/ops/augment_abi.py): op codes, stages, limits,
// argument slots and record offsets are never restated there.
//
// Record of one (view, sample, op), kRecordWords int32 words:
//   w[kApplied]        1 when the op was applied to this sample, else 0
//   w[kInputLength]    valid frames entering the op
//   w[kFirstOpWord .. kCounterSample)   the op's own fields, named by its Word enum (floats as raw bits)
//   w[kCounterSample], w[kCounterStream]  the Philox counter words of the op's per-joint / per-frame /
//                      per-element draws, which the kernels recompute from (seed, offset) instead of storing
//
// Randomness: Philox4x32-10 with key = seed and counter (block, stream = op slot | view << 8, sample, offset);
// blocks [0, kPerJointBlock) are phase-1 draws, [kPerJointBlock, ...) per-joint / per-frame draws, and
// [kPerElementBlock, ...) per-element draws (gaussian noise). One-of groups draw on stream
// kGroupStreamBase + group.
#pragma once
#include <cstdint>

#include "core/common.h"

namespace mgclr {
namespace augment {

// ---------------------------------------------------------------------------------------------------
// Limits.

constexpr int kMaxOps = 16;            // ops per program
constexpr int kMaxJoints = 256;        // V
constexpr int kMaskWords = kMaxJoints / 32;
constexpr int kMaxResamplingOps = 2;   // crop_resize / repeat_clip / drop_frames per program: <= 4 taps
constexpr int kMaxTaps = 4;            // input frames read per output frame (2 per resampling op)
constexpr int kMaxSegments = 8;        // posterize_time segments
constexpr int kMaxBlurRadius = 32;     // gaussian_blur kernel_size <= 2 * kMaxBlurRadius + 1
constexpr int kIntArgs = 4;            // OpSpec::i
constexpr int kFloatArgs = 8;          // OpSpec::f
constexpr int kRecordWords = 32;
constexpr uint32_t kPerJointBlock = 0x10000u;
constexpr uint32_t kPerElementBlock = 0x80000000u;
constexpr uint32_t kGroupStreamBase = 0xF000u;

// Header words of every record.
constexpr int kApplied = 0;
constexpr int kInputLength = 1;
constexpr int kFirstOpWord = 2;
constexpr int kCounterSample = 30;
constexpr int kCounterStream = 31;

// ---------------------------------------------------------------------------------------------------
// Op codes. The code's range is its stage: temporal [0, 16), spatial [16, 32), pointwise [32, 48), filter.

enum Stage : int32_t { STAGE_TEMPORAL = 0, STAGE_SPATIAL = 1, STAGE_POINTWISE = 2, STAGE_FILTER = 3 };

enum OpCode : int32_t {
  // temporal: output frame -> input frame(s)
  TEMPORAL_CROP = 1,
  CROP_RESIZE = 2,
  REPEAT_CLIP = 3,
  REVERSE_CLIP = 4,
  POSTERIZE_TIME = 5,
  TIME_FLIP = 6,
  DROP_FRAMES = 7,
  // spatial: per-sample (per-joint where needed) coordinate maps, constant over time
  COORDINATE_PERTURBATION = 16,
  VIEW_PERTURBATION = 17,
  STRETCH = 18,
  SHEAR = 19,
  RANDOM_ROTATE = 20,
  EULER_ROTATE = 21,
  AXIS_ROTATE = 22,
  FLIP = 23,
  JOINT_SHAKE = 24,
  // pointwise: depend on the output element
  JOINT_MASK = 32,
  GAUSSIAN_NOISE = 33,
  AXIS_MASK = 34,
  // filter: an extra pass over the output
  GAUSSIAN_BLUR = 48,
};

MGCLR_HD int32_t stage_of(int32_t code) {
  return code < 16 ? STAGE_TEMPORAL : (code < 32 ? STAGE_SPATIAL : (code < 48 ? STAGE_POINTWISE : STAGE_FILTER));
}

// Ops that resample time linearly (two taps per output frame); kMaxResamplingOps bounds them.
MGCLR_HD bool resamples(int32_t code) { return code == CROP_RESIZE || code == REPEAT_CLIP || code == DROP_FRAMES; }

// ---------------------------------------------------------------------------------------------------
// Programs and records.

// One op of a program. i[] and f[] hold the op's arguments, named per op below. group >= 0 puts the op in
// a "one of" group: per sample exactly one member of the group is chosen (then its own p applies).
struct OpSpec {
  int32_t code;
  int32_t same_on_batch;
  int32_t group;
  int32_t group_size;
  int32_t group_member;
  int32_t i[kIntArgs];
  float p;
  float f[kFloatArgs];
};

struct Program {
  int32_t n_ops;
  int32_t coord_channels;
  int32_t n_joints;
  int32_t t_out;
  int32_t blur_op;  // index of the GAUSSIAN_BLUR op, or -1
  OpSpec ops[kMaxOps];
  int16_t perm[kMaxJoints];  // left/right joint permutation (an involution) for FLIP
};

struct Shape {
  int64_t N, C, T, V, M;
};

struct Record {
  int32_t w[kRecordWords];
  MGCLR_HD float f(int k) const { return bits_to_float(w[k]); }
  MGCLR_HD void set_f(int k, float v) { w[k] = float_to_bits(v); }
  MGCLR_HD bool applied() const { return w[kApplied] != 0; }
  MGCLR_HD int32_t input_length() const { return w[kInputLength]; }
  MGCLR_HD bool joint_selected(int first_word, int v) const {
    return (static_cast<uint32_t>(w[first_word + (v >> 5)]) >> (v & 31)) & 1u;
  }
};

// ---------------------------------------------------------------------------------------------------
// Per op: IntArg / FloatArg name the slots of OpSpec::i / OpSpec::f, Word the record words (a field of
// several words starts at its name; the tables below give its length and type); an op without arguments
// or fields has no such struct. Readings of the paper and
// the meaning of each argument: python/mgclr/ops/transforms.py, one class per op.

// Ops that draw a 3x3 map share where it is stored, so the point stage loads any of them alike.
struct MatrixWords {
  enum : int32_t { matrix = 2 };  // 9 floats, row-major
};
struct RotationWords {
  enum : int32_t { matrix = 2, angles = 11, axis = 14 };  // R = Rz Ry Rx, (x, y, z) angles, main axis or -1
};

struct TemporalCrop {
  static constexpr OpCode code = TEMPORAL_CROP;
  // symmetric 0: reflect about the edge frames (-k -> k); 1: repeat them (-k -> k - 1, AimCLR's np.pad)
  struct IntArg { enum : int32_t { ratio = 0, symmetric = 1 }; };
  struct Word { enum : int32_t { start = 2, pad = 3 }; };
};

struct CropResize {
  static constexpr OpCode code = CROP_RESIZE;
  struct IntArg { enum : int32_t { min_len = 0, out_frames = 1 }; };
  struct FloatArg { enum : int32_t { scale_lo = 0, scale_hi = 1, eval_ratio = 2 }; };  // eval_ratio 0: random crop
  struct Word { enum : int32_t { start = 2, crop_length = 3, out_frames = 4 }; };
};

struct RepeatClip {
  static constexpr OpCode code = REPEAT_CLIP;
  struct FloatArg { enum : int32_t { s = 0, clip_lo = 1, clip_hi = 2 }; };
  struct Word { enum : int32_t { start = 2, clip_length = 3 }; };
};

struct ReverseClip {
  static constexpr OpCode code = REVERSE_CLIP;
  struct FloatArg { enum : int32_t { clip_lo = 0, clip_hi = 1 }; };
  struct Word { enum : int32_t { start = 2, clip_length = 3 }; };
};

struct PosterizeTime {
  static constexpr OpCode code = POSTERIZE_TIME;
  struct IntArg { enum : int32_t { k = 0 }; };
  struct FloatArg { enum : int32_t { h = 0, rate_lo = 1, rate_hi = 2 }; };
  // head frames at normal rate (and as many at the tail), k segments of the middle: their input lengths,
  // rates and output lengths (kMaxSegments words each; output lengths are precomputed for the frame map)
  struct Word {
    enum : int32_t { head = 2, segments = 3, segment_lengths = 4, rates = 12, output_lengths = 20 };
  };
};

struct TimeFlip {
  static constexpr OpCode code = TIME_FLIP;
};

struct DropFrames {
  static constexpr OpCode code = DROP_FRAMES;
  struct FloatArg { enum : int32_t { fraction_lo = 0, fraction_hi = 1 }; };
  struct Word { enum : int32_t { kept = 2 }; };  // frames kept: one per stratum, drawn per frame on replay
};

struct CoordinatePerturbation {
  static constexpr OpCode code = COORDINATE_PERTURBATION;
  struct IntArg { enum : int32_t { m = 0 }; };
  struct FloatArg { enum : int32_t { tau = 0, r_max = 1, eps = 2 }; };
  // lambda is data-dependent: written by the launchers after phase 1 (CPU: in phase 2; CUDA: lambda kernel)
  struct Word { enum : int32_t { lambda = 2, num_joints = 3, joints = 4 }; };
};

struct ViewPerturbation {
  static constexpr OpCode code = VIEW_PERTURBATION;
  struct IntArg { enum : int32_t { axis = 0 }; };  // -1: drawn per sample
  struct FloatArg { enum : int32_t { a_main = 0, a_other = 1 }; };
  using Word = RotationWords;
};

struct Stretch {
  static constexpr OpCode code = STRETCH;
  struct FloatArg { enum : int32_t { s_lo = 0, s_hi = 1, t = 2 }; };
  struct Word { enum : int32_t { matrix = MatrixWords::matrix, tilt = 11 }; };
};

struct Shear {
  static constexpr OpCode code = SHEAR;
  struct FloatArg { enum : int32_t { r = 0 }; };
  using Word = MatrixWords;
};

// Rotation ops: clockwise 1 builds the matrix from the negated angles (Rz(-z) Ry(-y) Rx(-x)), the sense of
// AimCLR's, CTR-GCN's and AS-CAL's matrices; the record keeps the angles as drawn.
struct RotationArgs {
  enum : int32_t { clockwise = 0 };
};

struct RandomRotate {
  static constexpr OpCode code = RANDOM_ROTATE;
  using IntArg = RotationArgs;
  struct FloatArg { enum : int32_t { main = 0, other = 1 }; };
  using Word = RotationWords;
};

struct EulerRotate {
  static constexpr OpCode code = EULER_ROTATE;
  using IntArg = RotationArgs;
  struct FloatArg { enum : int32_t { theta = 0 }; };
  using Word = RotationWords;  // axis is always -1: no main axis
};

struct AxisRotate {
  static constexpr OpCode code = AXIS_ROTATE;
  using IntArg = RotationArgs;
  struct FloatArg { enum : int32_t { max_angle = 0 }; };
  using Word = RotationWords;
};

struct Flip {
  static constexpr OpCode code = FLIP;
  struct IntArg { enum : int32_t { mirror_x = 0 }; };  // the permutation travels in Program::perm
};

struct JointShake {
  static constexpr OpCode code = JOINT_SHAKE;
  struct IntArg { enum : int32_t { num_joints = 0 }; };
  // matrix_mode 1: the chosen joints are mapped by the matrix, 0: they are zeroed
  struct Word { enum : int32_t { matrix_mode = 2, matrix = 3, joints = 12, num_joints = 20 }; };
};

struct JointMask {
  static constexpr OpCode code = JOINT_MASK;
  struct IntArg { enum : int32_t { joints_lo = 0, joints_hi = 1 }; };
  struct FloatArg { enum : int32_t { window_lo = 0, window_hi = 1 }; };
  struct Word { enum : int32_t { start = 2, stop = 3, joints = 4, num_joints = 12 }; };  // frames [start, stop)
};

// No record fields: the noise is drawn per element from the record's counter words. skip_missing 1: points
// whose coordinates are all zero stay zero; 0: every point of a valid frame gets noise (AimCLR's gaus_noise).
struct GaussianNoise {
  static constexpr OpCode code = GAUSSIAN_NOISE;
  struct IntArg { enum : int32_t { skip_missing = 0 }; };
  struct FloatArg { enum : int32_t { sigma = 0 }; };
};

struct AxisMask {
  static constexpr OpCode code = AXIS_MASK;
  struct Word { enum : int32_t { axis = 2 }; };
};

struct GaussianBlur {
  static constexpr OpCode code = GAUSSIAN_BLUR;
  // normalized 1: weights renormalised over the taps inside the clip; 0: the raw weights exp(-k^2 / 2 sigma^2)
  // with zero padding (AimCLR's GaussianBlurConv: a gain of sum_k w_k, 1 to 5 for its sigmas)
  struct IntArg { enum : int32_t { kernel_size = 0, normalized = 1 }; };
  struct FloatArg { enum : int32_t { sigma_lo = 0, sigma_hi = 1 }; };
  struct Word { enum : int32_t { sigma = 2, radius = 3 }; };
};

// The point stage reads every matrix op's map from one place.
static_assert(int{Stretch::Word::matrix} == int{MatrixWords::matrix} && int{RotationWords::matrix} == int{MatrixWords::matrix},
              "matrix ops store their 3x3 map at the same words");

// ---------------------------------------------------------------------------------------------------
// The launchers' arguments (typed pointers; all device pointers for CUDA, host pointers for the CPU).

struct AugmentArgs {
  const float* x;           // (N, C, T, V, M) float32, contiguous
  const int64_t* lengths;   // (N,) valid frames in [1, T] (clamped if not), or nullptr for "all T"
  Shape shape;              // N, C, T, V, M of x
  int32_t n_views;          // 1 or 2 independently augmented outputs
  uint64_t seed;            // Philox key
  uint32_t offset;          // Philox counter word 3
  bool replay;              // records are read (a replay) instead of sampled
  int32_t* records;         // (n_views, N, n_ops, kRecordWords)
  int64_t* out_lengths;     // (n_views, N): valid frames of each output
  float* out;               // (n_views, N, C, t_out, V, M); frames at or past out_lengths are zero
  float* scratch;           // CUDA, blurring programs only: as many floats as out (else nullptr)
};

// ---------------------------------------------------------------------------------------------------
// The same names as tables, for Python (mgclr._C.augment_abi()). Host only. Each row's name is spelt once:
// MGCLR_ABI_* stringify the enumerator, so a table row cannot name a slot or word that does not exist.

struct AbiOp {
  int32_t code;
  const char* name;
};
struct AbiArg {
  int32_t code;
  const char* name;
  char kind;  // 'i' (OpSpec::i) or 'f' (OpSpec::f)
  int32_t slot;
};
struct AbiField {
  int32_t code;
  const char* name;
  int32_t word;
  int32_t count;
  char kind;  // 'i' int32, 'f' float32, 'm' joint bitmask (kMaskWords words)
};

#define MGCLR_ABI_INT_ARG(Op, name) AbiArg{Op::code, #name, 'i', Op::IntArg::name}
#define MGCLR_ABI_FLOAT_ARG(Op, name) AbiArg{Op::code, #name, 'f', Op::FloatArg::name}
#define MGCLR_ABI_FIELD(Op, name, count, kind) AbiField{Op::code, #name, Op::Word::name, count, kind}

constexpr AbiOp kAbiOps[] = {
    {TEMPORAL_CROP, "temporal_crop"},
    {CROP_RESIZE, "crop_resize"},
    {REPEAT_CLIP, "repeat_clip"},
    {REVERSE_CLIP, "reverse_clip"},
    {POSTERIZE_TIME, "posterize_time"},
    {TIME_FLIP, "time_flip"},
    {DROP_FRAMES, "drop_frames"},
    {COORDINATE_PERTURBATION, "coordinate_perturbation"},
    {VIEW_PERTURBATION, "view_perturbation"},
    {STRETCH, "stretch"},
    {SHEAR, "shear"},
    {RANDOM_ROTATE, "random_rotate"},
    {EULER_ROTATE, "euler_rotate"},
    {AXIS_ROTATE, "axis_rotate"},
    {FLIP, "flip"},
    {JOINT_SHAKE, "joint_shake"},
    {JOINT_MASK, "joint_mask"},
    {GAUSSIAN_NOISE, "gaussian_noise"},
    {AXIS_MASK, "axis_mask"},
    {GAUSSIAN_BLUR, "gaussian_blur"},
};

constexpr AbiArg kAbiArgs[] = {
    MGCLR_ABI_INT_ARG(TemporalCrop, ratio),
    MGCLR_ABI_INT_ARG(TemporalCrop, symmetric),
    MGCLR_ABI_INT_ARG(CropResize, min_len),
    MGCLR_ABI_INT_ARG(CropResize, out_frames),
    MGCLR_ABI_FLOAT_ARG(CropResize, scale_lo),
    MGCLR_ABI_FLOAT_ARG(CropResize, scale_hi),
    MGCLR_ABI_FLOAT_ARG(CropResize, eval_ratio),
    MGCLR_ABI_FLOAT_ARG(RepeatClip, s),
    MGCLR_ABI_FLOAT_ARG(RepeatClip, clip_lo),
    MGCLR_ABI_FLOAT_ARG(RepeatClip, clip_hi),
    MGCLR_ABI_FLOAT_ARG(ReverseClip, clip_lo),
    MGCLR_ABI_FLOAT_ARG(ReverseClip, clip_hi),
    MGCLR_ABI_INT_ARG(PosterizeTime, k),
    MGCLR_ABI_FLOAT_ARG(PosterizeTime, h),
    MGCLR_ABI_FLOAT_ARG(PosterizeTime, rate_lo),
    MGCLR_ABI_FLOAT_ARG(PosterizeTime, rate_hi),
    MGCLR_ABI_FLOAT_ARG(DropFrames, fraction_lo),
    MGCLR_ABI_FLOAT_ARG(DropFrames, fraction_hi),
    MGCLR_ABI_INT_ARG(CoordinatePerturbation, m),
    MGCLR_ABI_FLOAT_ARG(CoordinatePerturbation, tau),
    MGCLR_ABI_FLOAT_ARG(CoordinatePerturbation, r_max),
    MGCLR_ABI_FLOAT_ARG(CoordinatePerturbation, eps),
    MGCLR_ABI_INT_ARG(ViewPerturbation, axis),
    MGCLR_ABI_FLOAT_ARG(ViewPerturbation, a_main),
    MGCLR_ABI_FLOAT_ARG(ViewPerturbation, a_other),
    MGCLR_ABI_FLOAT_ARG(Stretch, s_lo),
    MGCLR_ABI_FLOAT_ARG(Stretch, s_hi),
    MGCLR_ABI_FLOAT_ARG(Stretch, t),
    MGCLR_ABI_FLOAT_ARG(Shear, r),
    MGCLR_ABI_INT_ARG(RandomRotate, clockwise),
    MGCLR_ABI_FLOAT_ARG(RandomRotate, main),
    MGCLR_ABI_FLOAT_ARG(RandomRotate, other),
    MGCLR_ABI_INT_ARG(EulerRotate, clockwise),
    MGCLR_ABI_FLOAT_ARG(EulerRotate, theta),
    MGCLR_ABI_INT_ARG(AxisRotate, clockwise),
    MGCLR_ABI_FLOAT_ARG(AxisRotate, max_angle),
    MGCLR_ABI_INT_ARG(Flip, mirror_x),
    MGCLR_ABI_INT_ARG(JointShake, num_joints),
    MGCLR_ABI_INT_ARG(JointMask, joints_lo),
    MGCLR_ABI_INT_ARG(JointMask, joints_hi),
    MGCLR_ABI_FLOAT_ARG(JointMask, window_lo),
    MGCLR_ABI_FLOAT_ARG(JointMask, window_hi),
    MGCLR_ABI_INT_ARG(GaussianNoise, skip_missing),
    MGCLR_ABI_FLOAT_ARG(GaussianNoise, sigma),
    MGCLR_ABI_INT_ARG(GaussianBlur, kernel_size),
    MGCLR_ABI_INT_ARG(GaussianBlur, normalized),
    MGCLR_ABI_FLOAT_ARG(GaussianBlur, sigma_lo),
    MGCLR_ABI_FLOAT_ARG(GaussianBlur, sigma_hi),
};

constexpr AbiField kAbiFields[] = {
    MGCLR_ABI_FIELD(TemporalCrop, start, 1, 'i'),
    MGCLR_ABI_FIELD(TemporalCrop, pad, 1, 'i'),
    MGCLR_ABI_FIELD(CropResize, start, 1, 'i'),
    MGCLR_ABI_FIELD(CropResize, crop_length, 1, 'i'),
    MGCLR_ABI_FIELD(CropResize, out_frames, 1, 'i'),
    MGCLR_ABI_FIELD(RepeatClip, start, 1, 'i'),
    MGCLR_ABI_FIELD(RepeatClip, clip_length, 1, 'i'),
    MGCLR_ABI_FIELD(ReverseClip, start, 1, 'i'),
    MGCLR_ABI_FIELD(ReverseClip, clip_length, 1, 'i'),
    MGCLR_ABI_FIELD(PosterizeTime, head, 1, 'i'),
    MGCLR_ABI_FIELD(PosterizeTime, segments, 1, 'i'),
    MGCLR_ABI_FIELD(PosterizeTime, segment_lengths, kMaxSegments, 'i'),
    MGCLR_ABI_FIELD(PosterizeTime, rates, kMaxSegments, 'f'),
    MGCLR_ABI_FIELD(PosterizeTime, output_lengths, kMaxSegments, 'f'),
    MGCLR_ABI_FIELD(DropFrames, kept, 1, 'i'),
    MGCLR_ABI_FIELD(CoordinatePerturbation, lambda, 1, 'f'),
    MGCLR_ABI_FIELD(CoordinatePerturbation, num_joints, 1, 'i'),
    MGCLR_ABI_FIELD(CoordinatePerturbation, joints, kMaskWords, 'm'),
    MGCLR_ABI_FIELD(ViewPerturbation, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(ViewPerturbation, angles, 3, 'f'),
    MGCLR_ABI_FIELD(ViewPerturbation, axis, 1, 'i'),
    MGCLR_ABI_FIELD(Stretch, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(Stretch, tilt, 1, 'i'),
    MGCLR_ABI_FIELD(Shear, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(RandomRotate, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(RandomRotate, angles, 3, 'f'),
    MGCLR_ABI_FIELD(RandomRotate, axis, 1, 'i'),
    MGCLR_ABI_FIELD(EulerRotate, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(EulerRotate, angles, 3, 'f'),
    MGCLR_ABI_FIELD(EulerRotate, axis, 1, 'i'),
    MGCLR_ABI_FIELD(AxisRotate, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(AxisRotate, angles, 3, 'f'),
    MGCLR_ABI_FIELD(AxisRotate, axis, 1, 'i'),
    MGCLR_ABI_FIELD(JointShake, matrix_mode, 1, 'i'),
    MGCLR_ABI_FIELD(JointShake, matrix, 9, 'f'),
    MGCLR_ABI_FIELD(JointShake, joints, kMaskWords, 'm'),
    MGCLR_ABI_FIELD(JointShake, num_joints, 1, 'i'),
    MGCLR_ABI_FIELD(JointMask, start, 1, 'i'),
    MGCLR_ABI_FIELD(JointMask, stop, 1, 'i'),
    MGCLR_ABI_FIELD(JointMask, joints, kMaskWords, 'm'),
    MGCLR_ABI_FIELD(JointMask, num_joints, 1, 'i'),
    MGCLR_ABI_FIELD(AxisMask, axis, 1, 'i'),
    MGCLR_ABI_FIELD(GaussianBlur, sigma, 1, 'f'),
    MGCLR_ABI_FIELD(GaussianBlur, radius, 1, 'i'),
};

#undef MGCLR_ABI_INT_ARG
#undef MGCLR_ABI_FLOAT_ARG
#undef MGCLR_ABI_FIELD

}  // namespace augment
}  // namespace mgclr
