//! Bearer tokens: HS256 JWTs signed with the service's secret, whose claims name the principal.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use mastery_core::access::{AccessContext, Principal, Role};
use mastery_core::CourseId;
use serde::{Deserialize, Serialize};

use crate::api::AppState;
use crate::error::ApiError;

/// A token's claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id (as the evidence names learners, e.g. `mbox:mailto:amy@example.org`).
    pub sub: String,
    pub tenant: String,
    /// `learner`, `instructor`, `admin`, `service`.
    pub roles: Vec<String>,
    /// The courses an instructor teaches.
    #[serde(default)]
    pub courses: Vec<String>,
    /// The courses a learner is enrolled in.
    #[serde(default)]
    pub enrolled: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

impl Claims {
    /// The claims of `principal`, valid until `exp`.
    pub fn of(principal: &Principal, exp: u64) -> Self {
        let mut roles = Vec::new();
        let mut courses = Vec::new();
        for role in &principal.roles {
            roles.push(
                match role {
                    Role::Learner => "learner",
                    Role::Admin => "admin",
                    Role::Service => "service",
                    Role::Instructor { courses: taught } => {
                        courses.extend(taught.iter().map(|c| c.as_str().to_owned()));
                        "instructor"
                    }
                }
                .to_owned(),
            );
        }
        Self {
            sub: principal.user.as_str().to_owned(),
            tenant: principal.tenant.as_str().to_owned(),
            roles,
            courses,
            enrolled: principal.enrolled.iter().map(|c| c.as_str().to_owned()).collect(),
            exp,
        }
    }

    fn principal(&self) -> Result<Principal, ApiError> {
        let courses: Vec<CourseId> = self.courses.iter().map(|c| CourseId::new(c.as_str())).collect();
        let roles = self
            .roles
            .iter()
            .map(|r| match r.as_str() {
                "learner" => Ok(Role::Learner),
                "instructor" => Ok(Role::Instructor { courses: courses.clone() }),
                "admin" => Ok(Role::Admin),
                "service" => Ok(Role::Service),
                _ => Err(ApiError::unauthenticated("the token names an unknown role")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Principal {
            tenant: self.tenant.as_str().into(),
            user: self.sub.as_str().into(),
            roles,
            enrolled: self.enrolled.iter().map(|c| CourseId::new(c.as_str())).collect(),
        })
    }
}

/// Signs a token for `principal` (tests and the operator's tooling mint them).
pub fn mint(secret: &[u8], principal: &Principal, exp: u64) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &Claims::of(principal, exp), &EncodingKey::from_secret(secret))
        .unwrap_or_default()
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub AccessContext);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("a bearer token is required"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::unauthenticated("the Authorization header is not a bearer token"))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&state.jwt_secret), &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::unauthenticated("the token has expired"),
                _ => ApiError::unauthenticated("the token is not valid"),
            })?;
        Ok(Caller(AccessContext::new(data.claims.principal()?)))
    }
}
