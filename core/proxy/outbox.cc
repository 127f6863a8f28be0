#include "core/proxy/outbox.h"

namespace ssestitch::proxy {

void Outbox::clear() noexcept {
  m_bytes.clear();
  m_head = 0;
  m_ends.clear();
}

Outbox::Run Outbox::take(std::uint64_t upto_seq, std::uint64_t after_seq) {
  Run run{m_head, m_head, {}};
  while (!m_ends.empty() && m_ends.front().seq <= upto_seq) {
    const End e = m_ends.front();
    m_ends.pop_front();
    if (e.seq <= after_seq) {
      run.from = e.end;  // seqs rise: those not written are a prefix
    } else {
      ++run.released.count;
      run.released.last_seq = e.seq;
    }
    run.to = e.end;
  }
  m_head = run.to;
  return run;
}

void Outbox::settle() noexcept {
  if (m_ends.empty()) {
    if (m_bytes.capacity() > k_keep_capacity) {
      std::string().swap(m_bytes);
    } else {
      m_bytes.clear();
    }
    m_head = 0;
  } else if (m_head > 0 && m_head >= m_bytes.size() / 2) {
    m_bytes.erase(0, m_head);
    for (End& e : m_ends) e.end -= m_head;
    m_head = 0;
  }
}

}  // namespace ssestitch::proxy
