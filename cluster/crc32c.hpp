#pragma once
// CRC-32C (Castagnoli) for journal entry checksums.
#include <cstddef>
#include <cstdint>

namespace sg {
uint32_t crc32c(const void* data, size_t size);
}
