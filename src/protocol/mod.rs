//! The protocols' own words, parsed and checked without any I/O: the Gemini request line
//! ([`request`]), Titan's parameters ([`titan`]), the Gopher selector ([`selector`]), Gemini's
//! status codes ([`status`]) and the rule that lets a client certificate in ([`identity`]).
//! Everything here takes bytes or values and gives values, so each parser is tested (and
//! fuzzed) on its own; the sockets that carry these bytes live in `server`.

pub mod identity;
pub mod request;
pub mod selector;
pub mod status;
pub mod titan;
