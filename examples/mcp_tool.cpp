// An MCP tool handler that calls the "inference-cluster" server group, like the seed's
// HandleInferAsync: JSON args {"prompt", "max_tokens"?} in, {"generated_text", "tokens_used",
// "model"} out. The handler is an Asio coroutine on the tool server's own io_context and
// co_awaits the client (sg::client::async_post); a 2-minute timer cancels it if it runs long.
//
//   echo '{"prompt":"hi","max_tokens":64}' | SGD_PROXY_URLS=http://127.0.0.1:8080 example_mcp_tool
#include <sgd/client/asio.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <variant>

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

std::vector<std::string> proxy_urls() {
  const char* env = std::getenv("SGD_PROXY_URLS");
  std::string list = env && *env ? env : "http://127.0.0.1:8080";
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string u; std::getline(ss, u, ',');)
    if (!u.empty()) out.push_back(u);
  return out;
}

std::string tool_error(const std::string& msg) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("error");
  w.String(msg);
  w.EndObject();
  return sb.GetString();
}

// The tool: args JSON in, result JSON out (or {"error": ...}).
asio::awaitable<std::string> handle_infer(sg::client::ServerGroupClient& client,
                                          const std::string& args_json) {
  rapidjson::Document args;
  args.Parse(args_json.c_str());
  if (args.HasParseError() || !args.IsObject() || !args.HasMember("prompt") ||
      !args["prompt"].IsString())
    co_return tool_error("args must be a JSON object with a string 'prompt'");
  int max_tokens = 512;
  if (args.HasMember("max_tokens") && args["max_tokens"].IsInt())
    max_tokens = args["max_tokens"].GetInt();

  rapidjson::StringBuffer body;
  rapidjson::Writer<rapidjson::StringBuffer> bw(body);
  bw.StartObject();
  bw.Key("prompt");
  bw.String(args["prompt"].GetString());
  bw.Key("maxTokens");
  bw.Int(max_tokens);
  bw.EndObject();

  // Race the call against a timer: whichever loses is cancelled (through the call's
  // cancellation slot, which sg::client::async_post honours).
  asio::steady_timer limit(co_await asio::this_coro::executor, std::chrono::minutes(2));
  auto outcome = co_await (sg::client::async_post(client, "inference-cluster", "/infer",
                                                  body.GetString(), {}, asio::use_awaitable) ||
                           limit.async_wait(asio::use_awaitable));
  if (outcome.index() == 1) co_return tool_error("inference took longer than 2 minutes");
  auto& r = std::get<0>(outcome);
  if (!r) co_return tool_error(r.error().what());
  const auto& d = r.value();
  auto str = [&](const char* k) {
    return d.IsObject() && d.HasMember(k) && d[k].IsString() ? std::string(d[k].GetString())
                                                              : std::string();
  };
  if (!d.IsObject() || !d.HasMember("text"))
    co_return tool_error("the answer has no 'text': " + sg::client::to_json(d));

  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("generated_text");
  w.String(str("text"));
  w.Key("tokens_used");
  w.Int64(d.HasMember("tokensUsed") && d["tokensUsed"].IsInt64() ? d["tokensUsed"].GetInt64() : 0);
  w.Key("model");
  w.String(str("model"));
  w.EndObject();
  co_return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace

int main(int argc, char** argv) {
  std::string args_json;
  if (argc > 1)
    args_json = argv[1];
  else
    args_json.assign(std::istreambuf_iterator<char>(std::cin), {});

  sg::client::ServerGroupClient client(proxy_urls());
  asio::io_context ioc;  // the tool server's own executor
  std::string out;
  asio::co_spawn(ioc, handle_infer(client, args_json),
                 [&](std::exception_ptr e, std::string result) {
                   out = e ? tool_error("handler failed") : std::move(result);
                 });
  ioc.run();
  std::cout << out << '\n';
  return out.rfind("{\"error\"", 0) == 0 ? 1 : 0;
}
