#include "runtime/server/connection_stream.h"

#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace genrt {

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr std::string_view kLineEnd = "\r\n";
constexpr std::string_view kEndOfHeaders = "\r\n\r\n";
// How long refuse() keeps reading what the client still sends before it closes.
constexpr auto kLingerAfterRefusal = std::chrono::milliseconds(100);

const char* reason_phrase(int status) {
  switch (status) {
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

bool again(ssize_t n) { return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR); }

// The numeric address and port of a socket's end (the peer's or its own); an empty
// address and port -1 for sockets that have none (a socketpair).
void address_of(int socket, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t length = sizeof(addr);
  auto* a = reinterpret_cast<sockaddr*>(&addr);
  ip.clear();
  port = -1;
  if ((peer ? ::getpeername(socket, a, &length) : ::getsockname(socket, a, &length)) != 0) return;
  if (addr.ss_family != AF_INET && addr.ss_family != AF_INET6) return;
  char host[NI_MAXHOST];
  char service[NI_MAXSERV];
  if (::getnameinfo(a, length, host, sizeof(host), service, sizeof(service), NI_NUMERICHOST | NI_NUMERICSERV) != 0) return;
  ip = host;
  port = std::atoi(service);
}

}  // namespace

ConnectionStream::Wait ConnectionStream::wait(short events, Clock::time_point deadline) const {
  pollfd fds[2] = {{socket_, events, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    const int n = ::poll(fds, 2, static_cast<int>(std::clamp<int64_t>(left, 0, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (fds[1].revents != 0) return Wait::stopping;
    // An error or hang-up counts as ready: the recv or send that follows reports it.
    if (n != 0) return Wait::ready;
    if (Clock::now() >= deadline) return Wait::timeout;
  }
}

ConnectionStream::Fill ConnectionStream::fill(Clock::time_point deadline) {
  for (;;) {
    switch (wait(POLLIN, deadline)) {
      case Wait::ready: break;
      case Wait::timeout: return Fill::timeout;
      case Wait::stopping: return Fill::stopping;
    }
    const size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    const ssize_t n = ::recv(socket_, buffer_.data() + old, kReadChunk, MSG_DONTWAIT);
    buffer_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n > 0) return Fill::data;
    if (!again(n)) return Fill::closed;
  }
}

ConnectionStream::Arrival ConnectionStream::next_request() {
  buffer_.erase(0, consumed_);
  consumed_ = 0;
  header_bytes_ = 0;
  request_bytes_read_ = 0;
  body_failure_ = BodyFailure::none;
  if (buffer_.empty()) {
    switch (fill(Clock::now() + limits_.keep_alive_timeout)) {
      case Fill::data: break;
      case Fill::stopping: return Arrival::stopping;
      case Fill::closed:
      case Fill::timeout: return Arrival::closed;
    }
  }
  deadline_ = Clock::now() + limits_.request_timeout;
  return read_headers();
}

ConnectionStream::Arrival ConnectionStream::read_headers() {
  for (;;) {
    // Empty lines before a request line are ignored (RFC 9112, section 2.2).
    while (buffer_.starts_with(kLineEnd)) buffer_.erase(0, kLineEnd.size());
    if (const size_t end = buffer_.find(kEndOfHeaders); end != std::string::npos) {
      header_bytes_ = end + kEndOfHeaders.size();
      if (header_bytes_ > limits_.max_header_bytes) return Arrival::headers_too_large;
      size_t fields = 0;  // each field's line begins after a line end before the blank line
      for (size_t at = buffer_.find(kLineEnd); at < end; at = buffer_.find(kLineEnd, at + kLineEnd.size())) ++fields;
      return fields > limits_.max_headers ? Arrival::too_many_headers : Arrival::request;
    }
    if (buffer_.size() > limits_.max_header_bytes) return Arrival::headers_too_large;
    switch (fill(deadline_)) {
      case Fill::data: break;
      case Fill::closed: return Arrival::closed;
      case Fill::timeout: return Arrival::timed_out;
      case Fill::stopping: return Arrival::stopping;
    }
  }
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (body_failure_ != BodyFailure::none) return -1;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
    switch (fill(deadline_)) {
      case Fill::data: break;
      case Fill::closed: return 0;
      case Fill::timeout: body_failure_ = BodyFailure::timed_out; return -1;
      case Fill::stopping: return -1;
    }
  }
  const size_t n = std::min(size, buffer_.size() - consumed_);
  if (request_bytes_read_ + n > header_bytes_ + limits_.max_body_bytes) {
    body_failure_ = BodyFailure::too_large;
    return -1;
  }
  std::memcpy(ptr, buffer_.data() + consumed_, n);
  consumed_ += n;
  request_bytes_read_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::send_some(const char* ptr, size_t size) {
  const auto deadline = Clock::now() + limits_.write_timeout;
  for (;;) {
    if (wait(POLLOUT, deadline) != Wait::ready) return -1;
    const ssize_t n = ::send(socket_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (!again(n)) return n;
  }
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  return body_failure_ == BodyFailure::none ? send_some(ptr, size) : -1;
}

bool ConnectionStream::is_readable() const { return consumed_ < buffer_.size() || wait(POLLIN, deadline_) == Wait::ready; }

bool ConnectionStream::peer_closed() const {
  if (consumed_ < buffer_.size()) return false;
  pollfd stop{.fd = stop_fd_, .events = POLLIN, .revents = 0};
  if (::poll(&stop, 1, 0) > 0) return true;
  char byte = 0;
  const ssize_t n = ::recv(socket_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool ConnectionStream::is_writable() const {
  return body_failure_ == BodyFailure::none && wait(POLLOUT, Clock::now() + limits_.write_timeout) == Wait::ready;
}

void ConnectionStream::refuse(int status, std::string_view json_body, bool retry_later) {
  const std::string response =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}",
                  status, reason_phrase(status), json_body.size(), retry_later ? "Retry-After: 1\r\n" : "", json_body);
  for (size_t sent = 0; sent < response.size();) {
    const ssize_t n = send_some(response.data() + sent, response.size() - sent);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
  ::shutdown(socket_, SHUT_WR);
  const auto until = Clock::now() + kLingerAfterRefusal;
  do {
    buffer_.clear();
    consumed_ = 0;
  } while (fill(until) == Fill::data);
}

std::string ConnectionStream::remote_ip() const {
  std::string ip;
  int port;
  address_of(socket_, /*peer=*/true, ip, port);
  return ip;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(socket_, true, ip, port); }

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(socket_, false, ip, port); }

}  // namespace genrt
