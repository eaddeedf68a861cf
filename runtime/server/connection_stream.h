#pragma once
// One client connection as httplib reads and writes it (httplib::Stream), holding the
// client to ConnectionLimits: a request's headers and body must arrive within the
// request timeout from its first byte (however slowly they trickle in), its headers and
// body within their sizes; an idle connection is closed after the keep-alive timeout,
// and a write to a client that reads nothing gives up after the write timeout. Every
// wait also ends at once when the server stops (a byte on `stop_fd`).
//
// Reads are buffered: httplib reads request lines a byte at a time, and the bytes after
// one request (pipelining) stay for the next.

#include <chrono>
#include <string>
#include <string_view>

#include <httplib.h>

#include "runtime/server/connection_limits.h"

namespace genrt {

class ConnectionStream : public httplib::Stream {
 public:
  // The outcome of waiting for the next request.
  enum class Arrival {
    request,             // its headers are buffered, within the limits: httplib reads it next
    closed,              // the client hung up, or stayed idle past the keep-alive timeout
    stopping,            // the server is stopping
    timed_out,           // its headers did not arrive within the request timeout (408)
    headers_too_large,   // 431
    too_many_headers,    // 431
  };
  // Why a read of the request's body failed, if it did.
  enum class BodyFailure { none, timed_out, too_large };

  ConnectionStream(int socket, const ConnectionLimits& limits, int stop_fd)
      : socket_(socket), limits_(limits), stop_fd_(stop_fd) {}

  Arrival next_request();
  // Once a read has failed this way, writes fail too: the caller answers with refuse().
  BodyFailure body_failure() const { return body_failure_; }
  // Sends a whole response that genrt writes itself (a request httplib never sees or
  // could not finish), then closes the sending side and reads what the client still
  // sends for a moment, so that closing does not reset the connection before the client
  // has read the response.
  void refuse(int status, std::string_view json_body, bool retry_later);
  std::string remote_ip() const;
  // Whether the client has closed its side (or reset) or the server is stopping: for a
  // long request (an image job) to give up between steps. Data the client already sent
  // (a pipelined request) counts as open.
  bool peer_closed() const;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return socket_; }

 private:
  using Clock = std::chrono::steady_clock;
  enum class Wait { ready, timeout, stopping };

  Wait wait(short events, Clock::time_point deadline) const;
  // Appends what the socket has to buffer_, waiting until `deadline` for something.
  enum class Fill { data, closed, timeout, stopping };
  Fill fill(Clock::time_point deadline);
  Arrival read_headers();
  ssize_t send_some(const char* ptr, size_t size);

  const int socket_;
  const ConnectionLimits& limits_;
  const int stop_fd_;
  std::string buffer_;                  // received, not yet read by httplib from `consumed_` on
  size_t consumed_ = 0;
  size_t header_bytes_ = 0;             // the current request's request line and headers
  size_t request_bytes_read_ = 0;       // of the current request, by httplib
  Clock::time_point deadline_;          // the current request's
  BodyFailure body_failure_ = BodyFailure::none;
};

}  // namespace genrt
