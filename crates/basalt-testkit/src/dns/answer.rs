//! The answering rules: from one decoded query and the record store to the reply message.
//!
//! Kept free of sockets so the rules read in one place; `server` only frames and sends.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::rdata;
use super::records::{Entry, Records, normalize};

/// TTL 0, so no resolver cache keeps a record that a test has since changed.
const TTL: u32 = 0;
/// How many aliases are followed before giving up; also stops CNAME loops.
const MAX_CNAME_DEPTH: usize = 8;
/// The UDP payload size this server advertises back to EDNS clients (the DNS flag day value).
const EDNS_PAYLOAD: u16 = 1232;

/// The reply to `request`, or `None` when nothing must be sent: the message is itself a
/// response (answering would risk loops) or the name is set to time out.
pub(crate) fn respond(request: &Message, records: &Records) -> Option<Message> {
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
    reply.metadata.authoritative = true;
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    // The CA uses this server as its resolver, and it does chase CNAMEs for the client.
    reply.metadata.recursion_available = true;
    reply.add_queries(request.queries.iter().cloned());
    if request.edns.is_some() {
        // RFC 6891: a query with OPT gets an OPT back.
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        reply.set_edns(edns);
    }

    if request.metadata.op_code != OpCode::Query {
        reply.metadata.response_code = ResponseCode::NotImp;
        return Some(reply);
    }
    let [query] = request.queries.as_slice() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return Some(reply);
    };
    if query.query_class != DNSClass::IN {
        return Some(reply);
    }

    let mut owner = query.name.clone();
    let mut visited = Vec::new();
    for depth in 0..=MAX_CNAME_DEPTH {
        let key = normalize(&owner.to_ascii());
        let entry = records.entry(&key);
        if entry.timeout {
            return None;
        }
        if entry.servfail {
            reply.answers.clear();
            reply.metadata.response_code = ResponseCode::ServFail;
            return Some(reply);
        }
        if entry.nxdomain {
            // Like a resolver that followed aliases into a missing name: the CNAMEs stay.
            reply.metadata.response_code = ResponseCode::NXDomain;
            return Some(reply);
        }
        visited.push(key);
        if let Some(target) = &entry.cname {
            let Ok(target_name) = Name::from_ascii(format!("{target}.")) else {
                tracing::warn!(%target, "CNAME target is not a valid name; answering without it");
                return Some(reply);
            };
            let alias = RData::CNAME(CNAME(target_name.clone()));
            reply.add_answer(Record::from_rdata(owner, TTL, alias));
            let stop = query.query_type == RecordType::CNAME
                || depth == MAX_CNAME_DEPTH
                || visited.contains(target);
            if stop {
                return Some(reply);
            }
            owner = target_name;
            continue;
        }
        reply.add_answers(data(&owner, query.query_type, &entry));
        break;
    }
    Some(reply)
}

/// The records of type `query_type` that `entry` holds for `owner`.
fn data(owner: &Name, query_type: RecordType, entry: &Entry) -> Vec<Record> {
    let rdata: Vec<RData> = match query_type {
        RecordType::A => entry
            .a
            .clone()
            .unwrap_or_else(|| vec![Ipv4Addr::LOCALHOST])
            .into_iter()
            .map(|ip| RData::A(A(ip)))
            .collect(),
        RecordType::AAAA => entry
            .aaaa
            .clone()
            .unwrap_or_else(|| vec![Ipv6Addr::LOCALHOST])
            .into_iter()
            .map(|ip| RData::AAAA(AAAA(ip)))
            .collect(),
        RecordType::TXT => entry
            .txt
            .iter()
            .map(|v| RData::TXT(rdata::txt(v)))
            .collect(),
        RecordType::CAA => entry
            .caa
            .iter()
            .map(|c| RData::CAA(rdata::caa(c)))
            .collect(),
        _ => Vec::new(),
    };
    rdata
        .into_iter()
        .map(|d| Record::from_rdata(owner.clone(), TTL, d))
        .collect()
}
