//! Who is asking, and the one policy every read and write passes.
//!
//! A learner reads and writes only their own records; an instructor reads and writes the records of
//! the courses they teach; admins and services act within their tenant. Nobody crosses tenants.
//! A refusal is [`MasteryError::AccessDenied`], never an empty success.

use serde::{Deserialize, Serialize};

use crate::error::{MasteryError, Result};
use crate::ids::{CourseId, TenantId, UserId};

/// A role a principal holds within its tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    Learner,
    Instructor {
        courses: Vec<CourseId>,
    },
    Admin,
    /// A trusted back-end process of the host (an importer, a scheduler).
    Service,
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: UserId,
    pub roles: Vec<Role>,
    /// The courses a learner is enrolled in: the only courses they may write evidence into
    /// (evidence outside any course is always theirs to write).
    #[serde(default)]
    pub enrolled: Vec<CourseId>,
}

impl Principal {
    /// A learner acting for themself.
    pub fn learner(tenant: impl Into<TenantId>, user: impl Into<UserId>) -> Self {
        Self { tenant: tenant.into(), user: user.into(), roles: vec![Role::Learner], enrolled: Vec::new() }
    }

    /// A learner enrolled in `courses`, who may write evidence into them.
    pub fn enrolled_learner(tenant: impl Into<TenantId>, user: impl Into<UserId>, courses: Vec<CourseId>) -> Self {
        Self { enrolled: courses, ..Self::learner(tenant, user) }
    }

    /// An instructor of the given courses.
    pub fn instructor(tenant: impl Into<TenantId>, user: impl Into<UserId>, courses: Vec<CourseId>) -> Self {
        Self {
            tenant: tenant.into(),
            user: user.into(),
            roles: vec![Role::Instructor { courses }],
            enrolled: Vec::new(),
        }
    }

    /// A tenant administrator.
    pub fn admin(tenant: impl Into<TenantId>, user: impl Into<UserId>) -> Self {
        Self { tenant: tenant.into(), user: user.into(), roles: vec![Role::Admin], enrolled: Vec::new() }
    }

    /// A back-end service of the host.
    pub fn service(tenant: impl Into<TenantId>, name: impl Into<UserId>) -> Self {
        Self { tenant: tenant.into(), user: name.into(), roles: vec![Role::Service], enrolled: Vec::new() }
    }

    /// Admins and services: trusted with every record of their tenant.
    pub fn is_trusted(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::Admin | Role::Service))
    }

    fn teaches(&self, course: &CourseId) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::Instructor { courses } if courses.contains(course)))
    }
}

/// What every store call carries: the caller, so a host's row-level-security store can run the
/// query under that identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessContext {
    pub principal: Principal,
}

impl AccessContext {
    pub fn new(principal: Principal) -> Self {
        Self { principal }
    }

    /// The tenant every call of this context is confined to.
    pub fn tenant(&self) -> &TenantId {
        &self.principal.tenant
    }
}

/// Reading or writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Read,
    Write,
}

impl Operation {
    fn verb(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// May the caller touch this learner's record (in this course, if it belongs to one)? A learner
/// reads all their own records but writes only outside courses or into courses they are enrolled in.
pub fn authorize_learner(
    ctx: &AccessContext,
    op: Operation,
    tenant: &TenantId,
    learner: &UserId,
    course: Option<&CourseId>,
) -> Result<()> {
    let p = &ctx.principal;
    let own = || {
        p.user == *learner
            && p.roles.contains(&Role::Learner)
            && (op == Operation::Read || course.is_none_or(|c| p.enrolled.contains(c)))
    };
    let allowed = &p.tenant == tenant && (p.is_trusted() || own() || course.is_some_and(|c| p.teaches(c)));
    deny_unless(allowed, op, "learner record")
}

/// Whether the caller is an admin or a service of `tenant`: [`authorize_learner`] allows them
/// every record in it.
pub(crate) fn trusted_in(ctx: &AccessContext, tenant: &TenantId) -> bool {
    &ctx.principal.tenant == tenant && ctx.principal.is_trusted()
}

/// [`authorize_learner`] for many records at once. An admin or a service of the tenant may touch
/// every record in it, so theirs are not checked one by one (the ingest hot path).
pub(crate) fn authorize_learners<'a>(
    ctx: &AccessContext,
    op: Operation,
    tenant: &TenantId,
    records: impl IntoIterator<Item = (&'a UserId, Option<&'a CourseId>)>,
) -> Result<()> {
    if trusted_in(ctx, tenant) {
        return Ok(());
    }
    records.into_iter().try_for_each(|(learner, course)| authorize_learner(ctx, op, tenant, learner, course))
}

/// May the caller touch the records of a whole course?
pub fn authorize_course(ctx: &AccessContext, op: Operation, tenant: &TenantId, course: &CourseId) -> Result<()> {
    let p = &ctx.principal;
    deny_unless(&p.tenant == tenant && (p.is_trusted() || p.teaches(course)), op, "course records")
}

fn deny_unless(allowed: bool, op: Operation, what: &str) -> Result<()> {
    if allowed {
        Ok(())
    } else {
        Err(MasteryError::AccessDenied { action: format!("{} {what}", op.verb()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TenantId {
        TenantId::new("t1")
    }

    #[test]
    fn learners_see_only_themselves_instructors_only_their_courses() {
        let me = AccessContext::new(Principal::learner("t1", "amy"));
        assert!(authorize_learner(&me, Operation::Read, &t(), &"amy".into(), None).is_ok());
        assert!(authorize_learner(&me, Operation::Read, &t(), &"bob".into(), None).is_err());
        let teacher = AccessContext::new(Principal::instructor("t1", "tia", vec!["c1".into()]));
        assert!(authorize_learner(&teacher, Operation::Read, &t(), &"amy".into(), Some(&"c1".into())).is_ok());
        assert!(authorize_learner(&teacher, Operation::Read, &t(), &"amy".into(), Some(&"c2".into())).is_err());
        assert!(authorize_learner(&teacher, Operation::Read, &t(), &"amy".into(), None).is_err());
        assert!(authorize_course(&teacher, Operation::Read, &t(), &"c2".into()).is_err());
    }

    #[test]
    fn nobody_crosses_tenants() {
        let admin = AccessContext::new(Principal::admin("t2", "root"));
        let err = authorize_learner(&admin, Operation::Read, &t(), &"amy".into(), None).unwrap_err();
        assert_eq!(err.code(), "access_denied");
        assert!(!err.to_string().contains("amy"));
    }
}
