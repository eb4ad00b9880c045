//! Applications and their bots: a user creates an application, which is a
//! bot user of its own (its id is the bot's, as on Discord) with a
//! long-lived token sent as `Authorization: Bot <token>` and in IDENTIFY.
//! Only the owner can reset the token, which revokes the old one at once
//! (the account's token generation, [`crate::access::generations`]). Bots join
//! guilds through invites, as users do.

use crate::{Edge, EdgeError};
use rookery_proto::Id;
use rookery_proto::UserId;
use rookery_proto::event::Event;
use rookery_proto::model::{Application, User};
use rookery_proto::rest::{ApplicationObject, BotToken, UserObject};

impl Edge {
    /// Creates an application owned by `owner` (a user, not a bot) and
    /// answers with its first token.
    pub async fn create_application(
        &self,
        owner: &User,
        name: String,
    ) -> Result<BotToken, EdgeError> {
        crate::operations::accounts::check_username(&name)?;
        if self.store.application(owner.id.raw()).await?.is_some() {
            return Err(EdgeError::MissingPermissions(
                "bots cannot create applications",
            ));
        }
        let app = Application {
            id: self.ids.next_id(),
            name,
            owner_id: owner.id,
        };
        self.store.create_application(&app).await?;
        let bot = User {
            id: UserId::from(app.id),
            username: app.name.clone(),
        };
        if let Err(e) = self.publish(Event::UserCreate(bot.clone()), false).await {
            tracing::warn!(user = %bot.id, error = %e, "bot created but USER_CREATE not published");
        }
        Ok(BotToken {
            token: self.tokens.issue_bot(&bot, 0),
            application: self.application_object(&app, owner).await?,
        })
    }

    /// Revokes the bot's tokens (its sessions end with 4004) and answers a
    /// new one; only the application's owner may.
    pub async fn reset_bot_token(&self, caller: &User, app: Id) -> Result<BotToken, EdgeError> {
        let app = self
            .store
            .application(app)
            .await?
            .ok_or(EdgeError::UnknownApplication)?;
        if app.owner_id != caller.id {
            return Err(EdgeError::MissingPermissions(
                "only its owner resets a bot's token",
            ));
        }
        let bot = User {
            id: UserId::from(app.id),
            username: app.name.clone(),
        };
        let generation = self.revoke(&bot, None).await?;
        Ok(BotToken {
            token: self.tokens.issue_bot(&bot, generation),
            application: self.application_object(&app, caller).await?,
        })
    }

    /// The application whose bot `caller` is (`GET /applications/@me`).
    pub async fn my_application(&self, caller: &User) -> Result<ApplicationObject, EdgeError> {
        let app = self
            .store
            .application(caller.id.raw())
            .await?
            .ok_or(EdgeError::UnknownApplication)?;
        let owner = self
            .store
            .user(app.owner_id)
            .await?
            .ok_or(EdgeError::UnknownUser)?;
        self.application_object(&app, &owner).await
    }

    /// `user`'s object, marked `bot` if it is an application's.
    pub async fn user_object(&self, user: &User) -> Result<UserObject, EdgeError> {
        let bot = self.store.application(user.id.raw()).await?.is_some();
        Ok(UserObject::of(user, bot))
    }

    async fn application_object(
        &self,
        app: &Application,
        owner: &User,
    ) -> Result<ApplicationObject, EdgeError> {
        let bot = User {
            id: UserId::from(app.id),
            username: app.name.clone(),
        };
        Ok(ApplicationObject {
            id: app.id,
            name: app.name.clone(),
            icon: None,
            description: String::new(),
            bot_public: false,
            bot_require_code_grant: false,
            verify_key: String::new(),
            flags: 0,
            owner: self.user_object(owner).await?,
            bot: UserObject::of(&bot, true),
        })
    }
}
