// bindings_augment.cpp — the fused augmentation: augment_cpu / augment_cuda, and the ABI Python reads.
//
//   augment_cpu(x, lengths, shape, prog_i, prog_f, n_views, seed, offset, replay, records, out_lengths, out)
//   augment_cuda(... same ..., scratch, stream, device)
//     pointers as integers (torch data_ptr(); 0 for "none"), shape = [N, C, T, V, M], the program as two
//     flat lists (core/augment_program.h); scratch: as many floats as out when the program blurs, else 0
//   augment_abi() -> dict: limits, stages, record header words, and per op its code, stage, argument slots
//     and record fields (core/augment_abi.h), read by python/mgclr/ops/augment_abi.py
#include <pybind11/stl.h>

#include "bindings.h"
#include "core/augment_abi.h"
#include "core/augment_program.h"
#include "cpu/augment_cpu.h"
#if defined(MGCLR_WITH_CUDA)
#include "cuda/augment_cuda.h"
#endif

namespace py = pybind11;

namespace mgclr {
namespace {

using augment::AugmentArgs;
using augment::Program;

AugmentArgs make_args(const char* fn, uintptr_t x, uintptr_t lengths, const std::vector<int64_t>& shape,
                      const Program& prog, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
                      uintptr_t records, uintptr_t out_lengths, uintptr_t out, uintptr_t scratch) {
  if (shape.size() != 5) throw std::invalid_argument(std::string(fn) + ": shape must have 5 entries");
  const augment::Shape s{shape[0], shape[1], shape[2], shape[3], shape[4]};
  if (s.V != prog.n_joints) throw std::invalid_argument(std::string(fn) + ": program was built for another V");
  if (n_views != 1 && n_views != 2) throw std::invalid_argument(std::string(fn) + ": n_views must be 1 or 2");
  AugmentArgs args{};
  args.x = as_ptr<const float>(x);
  args.lengths = as_ptr<const int64_t>(lengths);
  args.shape = s;
  args.n_views = n_views;
  args.seed = seed;
  args.offset = offset;
  args.replay = replay;
  args.records = as_ptr<int32_t>(records);
  args.out_lengths = as_ptr<int64_t>(out_lengths);
  args.out = as_ptr<float>(out);
  args.scratch = as_ptr<float>(scratch);
  return args;
}

py::dict augment_abi() {
  using namespace augment;
  py::dict limits;
  limits["max_ops"] = kMaxOps;
  limits["max_joints"] = kMaxJoints;
  limits["mask_words"] = kMaskWords;
  limits["max_resampling_ops"] = kMaxResamplingOps;
  limits["max_taps"] = kMaxTaps;
  limits["max_segments"] = kMaxSegments;
  limits["max_blur_radius"] = kMaxBlurRadius;
  limits["int_args"] = kIntArgs;
  limits["float_args"] = kFloatArgs;
  limits["record_words"] = kRecordWords;
  limits["program_header"] = kProgramHeader;
  limits["ints_per_op"] = kIntsPerOp;
  limits["floats_per_op"] = kFloatsPerOp;
  py::dict counters;
  counters["per_joint_block"] = kPerJointBlock;
  counters["per_element_block"] = kPerElementBlock;
  counters["group_stream_base"] = kGroupStreamBase;
  py::dict header;
  header["applied"] = kApplied;
  header["input_length"] = kInputLength;
  header["first_op_word"] = kFirstOpWord;
  header["counter_sample"] = kCounterSample;
  header["counter_stream"] = kCounterStream;
  py::dict stages;
  stages["temporal"] = static_cast<int>(STAGE_TEMPORAL);
  stages["spatial"] = static_cast<int>(STAGE_SPATIAL);
  stages["pointwise"] = static_cast<int>(STAGE_POINTWISE);
  stages["filter"] = static_cast<int>(STAGE_FILTER);
  py::dict ops;
  for (const AbiOp& op : kAbiOps) {
    py::dict entry;
    entry["code"] = op.code;
    entry["stage"] = stage_of(op.code);
    entry["resamples"] = resamples(op.code);
    py::list args, fields;
    for (const AbiArg& a : kAbiArgs)
      if (a.code == op.code) args.append(py::make_tuple(a.name, std::string(1, a.kind), a.slot));
    for (const AbiField& f : kAbiFields)
      if (f.code == op.code) fields.append(py::make_tuple(f.name, f.word, f.count, std::string(1, f.kind)));
    entry["args"] = args;
    entry["fields"] = fields;
    ops[op.name] = entry;
  }
  py::dict abi;
  abi["limits"] = limits;
  abi["counters"] = counters;
  abi["header"] = header;
  abi["stages"] = stages;
  abi["ops"] = ops;
  return abi;
}

}  // namespace

void bind_augment(py::module_& m) {
  m.def("augment_abi", &augment_abi, "The augmentation ABI: limits, stages, op codes, argument slots, record fields");
  m.def(
      "augment_cpu",
      [](uintptr_t x, uintptr_t lengths, std::vector<int64_t> shape, std::vector<int64_t> prog_i,
         std::vector<double> prog_f, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
         uintptr_t records, uintptr_t out_lengths, uintptr_t out) {
        const Program prog = augment::decode_program(prog_i, prog_f);
        const AugmentArgs args = make_args("augment_cpu", x, lengths, shape, prog, n_views, seed, offset, replay,
                                           records, out_lengths, out, 0);
        py::gil_scoped_release release;
        augment_cpu(args, prog);
      },
      py::arg("x"), py::arg("lengths"), py::arg("shape"), py::arg("prog_i"), py::arg("prog_f"), py::arg("n_views"),
      py::arg("seed"), py::arg("offset"), py::arg("replay"), py::arg("records"), py::arg("out_lengths"),
      py::arg("out"));
#if defined(MGCLR_WITH_CUDA)
  m.def(
      "augment_cuda",
      [](uintptr_t x, uintptr_t lengths, std::vector<int64_t> shape, std::vector<int64_t> prog_i,
         std::vector<double> prog_f, int32_t n_views, uint64_t seed, uint32_t offset, bool replay,
         uintptr_t records, uintptr_t out_lengths, uintptr_t out, uintptr_t scratch, uintptr_t stream,
         int32_t device) {
        const Program prog = augment::decode_program(prog_i, prog_f);
        const AugmentArgs args = make_args("augment_cuda", x, lengths, shape, prog, n_views, seed, offset, replay,
                                           records, out_lengths, out, scratch);
        py::gil_scoped_release release;
        augment_cuda(args, prog, CudaLaunch{stream, device});
      },
      py::arg("x"), py::arg("lengths"), py::arg("shape"), py::arg("prog_i"), py::arg("prog_f"), py::arg("n_views"),
      py::arg("seed"), py::arg("offset"), py::arg("replay"), py::arg("records"), py::arg("out_lengths"),
      py::arg("out"), py::arg("scratch"), py::arg("stream"), py::arg("device"));
#endif
}

}  // namespace mgclr
