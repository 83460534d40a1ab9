// One HTTP/1.1 request on a fresh connection, synchronously, with a deadline: what sgctl uses
// for the admin API. No pooling, no failover; errors as values like the rest of the library.
//
//   auto r = sg::client::http_call({.url = "http://127.0.0.1:7070", .method = "GET",
//                                   .target = "/api/server-groups", .bearer_token = token});
//   if (!r) ...                      // unreachable, timeout, connection_lost, bad_response
//   else if (r->status >= 400) ...   // sg::client::api_error(*r) gives code and message
#pragma once

#include "sgd/client/result.hpp"
#include "sgd/client/server_group_client.hpp"

#include <chrono>
#include <string>

namespace sg::client {

struct http_request {
  std::string url = "http://127.0.0.1:7070";  // http://host[:port][/prefix]
  std::string method = "GET";
  std::string target = "/";                   // appended to the URL's path prefix
  std::string body;                           // sent as application/json when not empty
  std::string bearer_token;                   // "Authorization: Bearer ..." when not empty
  header_list headers;
  std::chrono::milliseconds timeout{30000};   // whole exchange
  std::chrono::milliseconds connect_timeout{5000};
};

// The answer, whatever its status. errc::unreachable when no connection could be made.
result<response> http_call(const http_request& req);

// A 4xx/5xx answer as a call_error (http_status; code and message from sgd's error body when
// it has one, else the reason phrase and the start of the body).
call_error api_error(const response& r);

}  // namespace sg::client
