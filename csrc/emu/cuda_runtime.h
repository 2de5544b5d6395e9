// cuda_runtime.h — in the emulation build (MGCLR_CUDA_EMULATION) this folder is first on the include path,
// so the CUDA sources' #include <cuda_runtime.h> reaches the emulation instead of the toolkit.
#pragma once
#include "emu/cuda_emu.h"
