#pragma once
// GBNF, the grammar notation of llama.cpp, read into a byte-level Grammar.
//
//   root   ::= object                      # the start rule is `root`
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   pair   ::= string ":" ws value
//   ws     ::= [ \t\n]{0,8}
//
// - A rule is `name ::= alternatives`; names are letters, digits, '-' and '_'. A rule ends
//   at a line break, except inside parentheses or right after '|'.
// - Literals "..." and character classes [a-z0-9_] or [^"\\] (ranges of Unicode code
//   points), `.` for any character; escapes \n \r \t \\ \" \' \[ \] \- \/ \^ \xHH \uHHHH
//   \UHHHHHHHH.
// - Grouping ( ... ), alternatives |, repetition * + ? {m} {m,} {m,n}.
// - `#` starts a comment that runs to the end of the line.
// Text is UTF-8 and matched as UTF-8: a class of characters matches their encodings.

#include <string_view>

#include "runtime/grammar/grammar.h"

namespace genrt::grammar {

// The most copies a {m,n} repetition may spell out (each is a copy in the grammar).
inline constexpr int64_t kMaxRepetition = 4096;

// Throws genrt::Error naming the line and column of a syntax error, or the rule at fault
// (Grammar's checks) for a grammar that cannot be matched.
Grammar parse_gbnf(std::string_view text, std::string_view root = "root");

}  // namespace genrt::grammar
