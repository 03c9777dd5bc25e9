//! Carriers' agreements and their versions, and the county's routes and
//! contractors: what the route decision reads.

use super::*;

impl App {
    /// Adds a version of the carrier's agreement (admin and county operators).
    pub async fn create_agreement(
        &self,
        principal: &Principal,
        carrier: Carrier,
        request: AgreementRequest,
    ) -> AppResult<AgreementVersion> {
        self.must_run_county(principal)?;
        for day in std::iter::once(request.effective_from).chain(request.effective_to) {
            check_day(day)?;
        }
        let period = Period::new(request.effective_from, request.effective_to)
            .map_err(AppError::detail(Code::PeriodInvalid))?;
        let terms = request
            .terms
            .validated()
            .map_err(AppError::detail(Code::AgreementInvalid))?;
        let mut tx = self.store.begin().await?;
        let version = tx
            .create_agreement_version(carrier, period, &terms, &actor_of(principal), self.now())
            .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::AgreementCreated,
            crate::audit::Object::county("agreement"),
            serde_json::json!({ "carrier": carrier.code(), "version": version.version }),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(carrier = %carrier, version = version.version, from = %period.from, "agreement version");
        Ok(version)
    }

    /// Every version of a carrier's agreement; a carrier sees only its own.
    pub async fn agreements(
        &self,
        principal: &Principal,
        carrier: Carrier,
    ) -> AppResult<Vec<AgreementVersion>> {
        if !principal.may_act_for_carrier(carrier) {
            return Err(AppError::Forbidden("carrier"));
        }
        Ok(self.store.agreement_versions(carrier).await?)
    }

    pub async fn create_route(
        &self,
        principal: &Principal,
        name: &str,
        townships: &[String],
    ) -> AppResult<RouteRecord> {
        self.must_run_county(principal)?;
        let name = text_field("route name", name, NAME_CHARS_MAX)
            .map_err(text_invalid("route name", NAME_CHARS_MAX))?;
        if townships.is_empty() || townships.len() > domain::county::AGREEMENT_TOWNSHIPS_MAX {
            return Err(AppError::new(Code::RouteTownships)
                .with("max", domain::county::AGREEMENT_TOWNSHIPS_MAX));
        }
        let townships = townships
            .iter()
            .map(|t| parse_township(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::detail(Code::TownshipInvalid))?;
        let mut tx = self.store.begin().await?;
        let route = tx
            .create_route(name, &townships, self.now())
            .await
            .map_err(|error| match error {
                // The name is the only unique key a new route has.
                StoreError::Conflict(_) => AppError::new(Code::RouteNameTaken).with("name", name),
                other => AppError::from(other),
            })?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::RouteCreated,
            crate::audit::Object::new("route", route.id),
            serde_json::json!({ "townships": townships.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(route)
    }

    pub async fn create_contractor(
        &self,
        principal: &Principal,
        name: &str,
        township: &str,
        phone: Option<Phone>,
    ) -> AppResult<ContractorRecord> {
        self.must_run_county(principal)?;
        let name = text_field("contractor name", name, NAME_CHARS_MAX)
            .map_err(text_invalid("contractor name", NAME_CHARS_MAX))?;
        let township = parse_township(township).map_err(AppError::detail(Code::TownshipInvalid))?;
        let mut tx = self.store.begin().await?;
        let contractor = tx
            .create_contractor(name, &township, phone.as_ref(), self.now())
            .await?;
        crate::audit::record(
            &mut *tx,
            &crate::audit::Actor::of(principal),
            self.now(),
            crate::audit::Act::ContractorCreated,
            crate::audit::Object::new("contractor", contractor.id),
            serde_json::json!({ "phone": phone.as_ref().map(|p| p.masked()) }),
        )
        .await?;
        tx.commit().await?;
        Ok(contractor)
    }

    pub async fn county_routes(&self, principal: &Principal) -> AppResult<Vec<RouteRecord>> {
        self.must_run_county(principal)?;
        Ok(self.store.routes().await?)
    }

    pub async fn county_contractors(
        &self,
        principal: &Principal,
    ) -> AppResult<Vec<ContractorRecord>> {
        self.must_run_county(principal)?;
        Ok(self.store.contractors().await?)
    }
}
