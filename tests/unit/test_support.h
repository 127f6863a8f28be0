#pragma once
// Helpers shared by the unit tests.

#include <atomic>
#include <filesystem>
#include <string>

namespace ssestitch::test {

// A fresh directory under the run's scratch directory (see main.cc), removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& hint = "case") {
    static std::atomic<int> counter{0};
    m_path = std::filesystem::current_path() / (hint + "_" + std::to_string(counter++));
    std::filesystem::remove_all(m_path);
    std::filesystem::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::string str() const { return m_path.string(); }

 private:
  std::filesystem::path m_path;
};

}  // namespace ssestitch::test
