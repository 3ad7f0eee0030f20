#include "sign/secret.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace loan_gateway {

Secret::Secret(Secret&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.Wipe();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.Wipe();
  }
  return *this;
}

Secret::~Secret() { Wipe(); }

void Secret::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
  bytes_.clear();
}

absl::Status CheckNotOpenToOthers(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return absl::UnavailableError("cannot stat secret file " + path);
  }
  // Owner and group only: Kubernetes mounts Secret files root-owned with the
  // pod's fsGroup (0440), so group read stays allowed.
  if ((st.st_mode & (S_IROTH | S_IWOTH | S_IXOTH)) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "secret file %s is open to other users (mode %04o): allow its owner "
        "and group at most (chmod o-rwx %s)",
        path, st.st_mode & 07777, path));
  }
  return absl::OkStatus();
}

absl::StatusOr<Secret> Secret::FromFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = absl::StrCat("cannot read secret file ", path, ": ",
                                         std::strerror(errno));
    if (errno == ENOENT) return absl::NotFoundError(why);
    if (errno == EACCES) return absl::PermissionDeniedError(why);
    return absl::UnavailableError(why);
  }
  if (absl::Status open_to_others = CheckNotOpenToOthers(fd, path);
      !open_to_others.ok()) {
    ::close(fd);
    return open_to_others;
  }
  // Read straight into the string (no stream buffers left holding copies).
  std::string bytes;
  char chunk[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, chunk, sizeof(chunk))) > 0) {
    bytes.append(chunk, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(chunk, sizeof(chunk));
  ::close(fd);
  if (n < 0) return absl::UnavailableError("cannot read secret file " + path);
  while (!bytes.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(bytes.back()))) {
    bytes.pop_back();
  }
  if (bytes.empty())
    return absl::InvalidArgumentError("secret file is empty: " + path);
  return Secret(std::move(bytes));
}

}  // namespace loan_gateway
