#include "sign/key_ring.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "log/json_log.h"

namespace loan_gateway {
namespace {

// Signed once per load: a key that parses but cannot sign is refused then,
// not at the first borrow.
constexpr char kTestPayload[] = "loan-gateway key check&timestamp=0";
// A change is loaded once both files have stayed as they are this long, so
// that a pair replaced by two renames a moment apart is read as one change.
constexpr absl::Duration kSettle = absl::Milliseconds(250);
// Reads of a pair that changed while being read, before giving up until the
// next change.
constexpr int kReadAttempts = 3;

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
         a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

absl::Status InStep(absl::string_view step, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(step, ": ", status.message()));
}

// Binance's API keys are tokens of printable ASCII. Anything else (a space,
// a line break inside the file) would be rejected by Binance at best and end
// the X-MBX-APIKEY header early at worst.
absl::Status CheckApiKey(const Secret& api_key) {
  for (const char c : api_key.Reveal()) {
    if (c < '!' || c > '~') {
      return absl::InvalidArgumentError(
          "the API key holds whitespace or a character that is not printable "
          "ASCII");
    }
  }
  return absl::OkStatus();
}

// The first 8 hex digits of SHA-256(bytes).
std::string Fingerprint(absl::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(),
                 nullptr) != 1) {
    return "unknown";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), 4));
}

}  // namespace

bool KeyRing::FileStats::SameAs(const FileStats& other) const {
  return SameFile(api_key, other.api_key) &&
         SameFile(private_key, other.private_key);
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::Open(
    const std::string& api_key_file, const std::string& private_key_file,
    KeyType type, absl::Duration reload_interval, WatchThread* watch) {
  std::unique_ptr<KeyRing> ring(
      new KeyRing(api_key_file, private_key_file, type));
  FileStats read;
  absl::StatusOr<std::shared_ptr<const SigningKey>> first =
      ring->ReadPair(read);
  if (!first.ok()) return first.status();
  LogLine("info", "key_loaded")
      .Str("key_type", KeyTypeName(type))
      .Str("api_key_sha256", (*first)->fingerprint)
      .Emit();
  {
    absl::MutexLock lock(&ring->mu_);
    ring->current_ = *std::move(first);
    ring->seen_ = read;
  }
  if (watch != nullptr) {
    ring->watch_ = std::make_unique<PeriodicCheck>(
        *watch,
        [r = ring.get(), reload_interval] {
          return r->CheckFiles(reload_interval);
        },
        reload_interval);
  }
  return ring;
}

KeyRing::KeyRing(std::string api_key_file, std::string private_key_file,
                 KeyType type)
    : api_key_file_(std::move(api_key_file)),
      private_key_file_(std::move(private_key_file)),
      type_(type) {}

std::shared_ptr<const SigningKey> KeyRing::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::Status KeyRing::Reload() {
  absl::MutexLock serial(&load_mu_);
  FileStats read;
  absl::StatusOr<std::shared_ptr<const SigningKey>> next = ReadPair(read);
  std::shared_ptr<const SigningKey> previous;
  std::function<void(const absl::Status&, const std::string&)> observer;
  {
    absl::MutexLock lock(&mu_);
    seen_ = read;  // A refused pair is not read again until a file changes.
    previous = current_;
    if (next.ok()) current_ = *next;
    observer = observer_;
  }
  if (!next.ok()) {
    ++failures_;
    LogLine("error", "key_reload_refused")
        .Str("error", next.status().ToString())
        .Str("api_key_sha256", previous->fingerprint)
        .Str("effect", "the key in force (api_key_sha256) stays in force")
        .Emit();
    if (observer) observer(next.status(), previous->fingerprint);
    return next.status();
  }
  LogLine("info", "key_reloaded")
      .Str("key_type", KeyTypeName(type_))
      .Str("api_key_sha256", (*next)->fingerprint)
      .Str("previous_api_key_sha256", previous->fingerprint)
      .Emit();
  if (observer) observer(absl::OkStatus(), (*next)->fingerprint);
  return absl::OkStatus();
}

// Waits for a reload in progress (it holds load_mu_ while it calls the
// observer), so once this returns the old observer is never called again.
void KeyRing::OnReload(
    std::function<void(const absl::Status&, const std::string&)> observer) {
  absl::MutexLock serial(&load_mu_);
  absl::MutexLock lock(&mu_);
  observer_ = std::move(observer);
}

// Reads the pair again while either file changed during the read: a Secret
// swapped between the two reads would pair a new API key with an old key.
absl::StatusOr<std::shared_ptr<const SigningKey>> KeyRing::ReadPair(
    FileStats& read) const {
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    FileStats before;
    FileStats after;
    StatBoth(before);  // A missing file: the read below says so.
    absl::StatusOr<std::shared_ptr<const SigningKey>> pair = ReadPairOnce();
    StatBoth(after);
    read = before;
    if (before.SameAs(after)) return pair;
  }
  return absl::UnavailableError(
      "the key files kept changing while they were read");
}

absl::StatusOr<std::shared_ptr<const SigningKey>> KeyRing::ReadPairOnce()
    const {
  absl::StatusOr<Secret> api_key = Secret::FromFile(api_key_file_);
  if (!api_key.ok()) return InStep("api_key_file", api_key.status());
  if (absl::Status token = CheckApiKey(*api_key); !token.ok()) {
    return InStep("api_key_file", token);
  }
  absl::StatusOr<Secret> private_key = Secret::FromFile(private_key_file_);
  if (!private_key.ok()) {
    return InStep("private_key_file", private_key.status());
  }
  absl::StatusOr<std::unique_ptr<Signer>> signer =
      MakeSigner(type_, *std::move(private_key));
  if (!signer.ok()) return InStep("signer", signer.status());
  if (absl::StatusOr<std::string> test = (*signer)->Sign(kTestPayload);
      !test.ok()) {
    return InStep("signer", test.status());
  }
  auto key = std::make_shared<SigningKey>();
  key->fingerprint = Fingerprint(api_key->Reveal());
  key->api_key = *std::move(api_key);
  key->signer = *std::move(signer);
  return key;
}

bool KeyRing::StatBoth(FileStats& stats) const {
  // stat, not lstat: the resolved files, which is what a Kubernetes Secret's
  // `..data` symlink swap changes.
  return stat(api_key_file_.c_str(), &stats.api_key) == 0 &&
         stat(private_key_file_.c_str(), &stats.private_key) == 0;
}

bool KeyRing::Changed(const FileStats& now) const {
  absl::MutexLock lock(&mu_);
  return !now.SameAs(seen_);
}

// A change is read only once both files stayed as they were for kSettle, so
// that two renames a moment apart are read as one change; a file missing
// (mid-swap) waits for the next look.
absl::Duration KeyRing::CheckFiles(absl::Duration interval) {
  FileStats now;
  if (!StatBoth(now) || !Changed(now)) {
    settling_.reset();
    return interval;
  }
  if (!settling_.has_value() || !now.SameAs(*settling_)) {
    settling_ = now;
    return kSettle;
  }
  settling_.reset();
  (void)Reload();
  return interval;
}

}  // namespace loan_gateway
