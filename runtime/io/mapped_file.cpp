#include "runtime/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/core/error.h"

namespace genrt {

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  GENRT_CHECK(fd >= 0, "cannot open {}: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{} is not a regular file", path.string());
  }
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    void* addr = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    const int mmap_errno = errno;
    ::close(fd);
    GENRT_CHECK(addr != MAP_FAILED, "cannot map {}: {}", path.string(), std::strerror(mmap_errno));
    file->data_ = static_cast<const unsigned char*>(addr);
    file->mapped_ = true;
  } else {
    ::close(fd);
  }
  return file;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::string bytes, const std::filesystem::path& name) {
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = name;
  file->owned_ = std::move(bytes);
  file->data_ = reinterpret_cast<const unsigned char*>(file->owned_.data());
  file->size_ = file->owned_.size();
  return file;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<unsigned char*>(data_), size_);
}

}  // namespace genrt
