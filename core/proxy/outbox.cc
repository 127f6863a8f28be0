#include "core/proxy/outbox.h"

namespace ssestitch::proxy {

void Outbox::clear() noexcept {
  m_bytes.clear();
  m_head = 0;
  m_ends.clear();
  m_first = 0;
}

Outbox::Run Outbox::take(std::uint64_t upto_seq, std::uint64_t after_seq) {
  Run run{m_head, m_head, {}};
  while (m_first < m_ends.size() && m_ends[m_first].seq <= upto_seq) {
    const End e = m_ends[m_first++];
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
  if (empty()) {
    if (m_bytes.capacity() > k_keep_capacity) {
      std::string().swap(m_bytes);
    } else {
      m_bytes.clear();
    }
    if (m_ends.capacity() > k_keep_ends) {
      std::vector<End>().swap(m_ends);
    } else {
      m_ends.clear();
    }
    m_head = 0;
    m_first = 0;
  } else if (m_head > 0 && m_head >= m_bytes.size() / 2) {
    m_bytes.erase(0, m_head);
    m_ends.erase(m_ends.begin(), m_ends.begin() + static_cast<std::ptrdiff_t>(m_first));
    m_first = 0;
    for (End& e : m_ends) e.end -= m_head;
    m_head = 0;
  }
}

}  // namespace ssestitch::proxy
