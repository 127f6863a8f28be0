#pragma once
// Validation of a Batch before it is queued, shared by LmdbStore and MemoryStore so both refuse
// the same batches with the same messages. Private to core/store.

#include "core/store/records.h"
#include "core/util/result.h"

namespace ssestitch::store {

// invalid_argument when a session id is empty, longer than 255 bytes or contains 0x00 (the session_streams index
// separator), a stream number or event seq is 0, or event seqs of one stream do not strictly
// increase within the batch.
util::Result<void> check_batch(const Batch& batch);

}  // namespace ssestitch::store
