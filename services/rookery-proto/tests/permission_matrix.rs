//! The permission evaluator against a deliberately naive one written here:
//! bit by bit, layer by layer, as Discord's documentation states the rules.
//! Every combination of owner, administrator, role grants, member roles,
//! overwrites (@everyone, each role, the member) and timeout over a set of
//! bits that exercises the implicit rules is compared, plus a property test
//! (proptest) over every flag.

use proptest::prelude::*;
use rookery_proto::permissions::{self as p, Base, Overwrite, OverwriteKind, Permissions};
use rookery_proto::{GuildId, RoleId, UserId};

const GUILD: GuildId = GuildId(1);
const USER: UserId = UserId(2);
const ROLES: [RoleId; 2] = [RoleId(10), RoleId(11)];

/// One scenario: what the guild and channel hold.
#[derive(Debug, Clone)]
struct Case {
    owner: bool,
    everyone: u64,
    role_perms: [u64; 2],
    has_role: [bool; 2],
    /// (allow, deny) for @everyone, role 0, role 1, the member.
    overwrites: [Option<(u64, u64)>; 4],
    timed_out: bool,
}

fn naive(c: &Case) -> u64 {
    let all = Permissions::ALL.0;
    if c.owner {
        return all;
    }
    let mut guild = c.everyone;
    for i in 0..2 {
        if c.has_role[i] {
            guild |= c.role_perms[i];
        }
    }
    if guild & Permissions::ADMINISTRATOR.0 != 0 {
        return all;
    }
    let mut out = 0;
    for bit in (0..64).map(|b| 1u64 << b).filter(|b| all & b != 0) {
        let mut on = guild & bit != 0;
        if let Some((allow, deny)) = c.overwrites[0] {
            if deny & bit != 0 {
                on = false;
            }
            if allow & bit != 0 {
                on = true;
            }
        }
        let held = |i: usize| {
            if c.has_role[i] {
                c.overwrites[i + 1]
            } else {
                None
            }
        };
        let role_allows = (0..2).any(|i| held(i).is_some_and(|(a, _)| a & bit != 0));
        let role_denies = (0..2).any(|i| held(i).is_some_and(|(_, d)| d & bit != 0));
        if role_allows {
            on = true;
        } else if role_denies {
            on = false;
        }
        if let Some((allow, deny)) = c.overwrites[3] {
            if deny & bit != 0 {
                on = false;
            }
            if allow & bit != 0 {
                on = true;
            }
        }
        if on {
            out |= bit;
        }
    }
    if out & Permissions::VIEW_CHANNEL.0 == 0 {
        return 0;
    }
    if out & Permissions::SEND_MESSAGES.0 == 0 {
        out &= !Permissions::MENTION_EVERYONE.0;
    }
    if c.timed_out {
        out &= Permissions::VIEW_CHANNEL.0 | Permissions::READ_MESSAGE_HISTORY.0;
    }
    out
}

fn evaluated(c: &Case) -> u64 {
    let mut roles = Permissions::NONE;
    let mut held = Vec::new();
    for ((&id, &has), &perms) in ROLES.iter().zip(&c.has_role).zip(&c.role_perms) {
        if has {
            roles = roles.union(Permissions(perms));
            held.push(id);
        }
    }
    let base = p::base(Base {
        owner: c.owner,
        everyone: Permissions(c.everyone),
        roles,
    });
    let targets = [
        (GUILD.everyone().raw(), OverwriteKind::Role),
        (ROLES[0].raw(), OverwriteKind::Role),
        (ROLES[1].raw(), OverwriteKind::Role),
        (USER.raw(), OverwriteKind::Member),
    ];
    let overwrites: Vec<Overwrite> = targets
        .iter()
        .zip(&c.overwrites)
        .filter_map(|(&(id, kind), o)| {
            o.map(|(allow, deny)| Overwrite {
                id,
                kind,
                allow: Permissions(allow),
                deny: Permissions(deny),
            })
        })
        .collect();
    p::in_channel(base, GUILD, USER, &held, &overwrites, c.timed_out).0
}

fn check(c: &Case) {
    assert_eq!(evaluated(c), naive(c), "{c:#?}");
}

#[test]
fn every_combination_over_the_bits_with_implicit_rules() {
    let view = Permissions::VIEW_CHANNEL.0;
    let send = Permissions::SEND_MESSAGES.0;
    let everyone_mention = Permissions::MENTION_EVERYONE.0;
    let admin = Permissions::ADMINISTRATOR.0;
    let grants = [0, view, view | send, view | send | everyone_mention, admin];
    let overwrites = [
        None,
        Some((view, 0)),
        Some((0, view)),
        Some((send, 0)),
        Some((0, send)),
        Some((send, view)),
    ];
    let mut cases = 0;
    for owner in [false, true] {
        for everyone in grants {
            for role0 in grants {
                for has_role in [[false, false], [true, false], [true, true]] {
                    for (o_every, o_role0, o_role1, o_member) in
                        itertools(&overwrites, 4).map(|v| (v[0], v[1], v[2], v[3]))
                    {
                        for timed_out in [false, true] {
                            check(&Case {
                                owner,
                                everyone,
                                role_perms: [role0, send],
                                has_role,
                                overwrites: [o_every, o_role0, o_role1, o_member],
                                timed_out,
                            });
                            cases += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 5 * 5 * 3 * 6usize.pow(4) * 2);
}

/// Every `n`-tuple of `items`.
fn itertools<T: Copy>(items: &[T], n: usize) -> impl Iterator<Item = Vec<T>> + '_ {
    (0..items.len().pow(n as u32)).map(move |mut k| {
        (0..n)
            .map(|_| {
                let item = items[k % items.len()];
                k /= items.len();
                item
            })
            .collect()
    })
}

/// Sparse masks over every flag, so administrator (and each other bit) is
/// set in only some cases.
fn mask() -> impl Strategy<Value = u64> {
    (any::<u64>(), any::<u64>()).prop_map(|(a, b)| a & b & Permissions::ALL.0)
}

fn case() -> impl Strategy<Value = Case> {
    let overwrite = || proptest::option::of((mask(), mask()));
    (
        any::<bool>(),
        mask(),
        [mask(), mask()],
        any::<[bool; 2]>(),
        [overwrite(), overwrite(), overwrite(), overwrite()],
        any::<bool>(),
    )
        .prop_map(
            |(owner, everyone, role_perms, has_role, overwrites, timed_out)| Case {
                owner,
                everyone,
                role_perms,
                has_role,
                overwrites,
                timed_out,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    /// Any guild and channel: the evaluator agrees with the naive one (a
    /// failure shrinks to the smallest disagreeing case).
    #[test]
    fn the_evaluator_agrees_with_the_naive_one_on_every_flag(c in case()) {
        prop_assert_eq!(evaluated(&c), naive(&c), "{:#?}", c);
    }
}
