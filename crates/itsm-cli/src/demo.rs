//! `ledgerdesk demo`: a short, realistic service-desk story played through the real deciders.
//!
//! It defines (once) a business-hours calendar, a service and its SLA policies; then, on every
//! run, a requester reports an incident that an agent works to resolution, a problem is opened
//! behind it with a workaround, and a normal change is assessed, approved by the CAB and
//! scheduled for the next day. Every step is a command through `itsm-app`'s command bus, so
//! every event is decided, encoded, appended durably and hash-chained exactly as the server will.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveTime, TimeDelta, Utc};
use itsm_app::{AppError, CommandBus, CommandResult, SystemClock, UuidV7Ids, stream};
use itsm_catalog::{Catalog, CatalogCommand, Criticality};
use itsm_change::{
    Change, ChangeCommand, ChangeType, FreezeWindow, Likelihood, ScheduledChange, Status, Vote,
};
use itsm_eventstore::{EventStore, SledStore};
use itsm_incident::{Channel, Incident, IncidentCommand, LogIncident, ResolutionCode, Visibility};
use itsm_kernel::{
    Actor, ChangeKey, CustomerTier, GroupId, Impact, IncidentKey, Priority, ProblemKey, Role,
    ServiceId, Urgency, UserId,
};
use itsm_problem::{Problem, ProblemCommand};
use itsm_sla::{Calendar, HoldReason, SlaTargets};

use crate::{CliError, ledger};

type Bus = CommandBus<SledStore>;

/// A fixed, valid name used by the story. Proven infallible for the literals below.
fn id<T: std::str::FromStr>(text: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    text.parse().expect("the demo's literal ids are valid")
}

fn person(name: &str, role: Role) -> Actor {
    Actor::user(id(name), role)
}

fn failed<E: std::error::Error>(step: &str) -> impl FnOnce(AppError<E>) -> CliError + '_ {
    move |error| CliError::Command(format!("demo step '{step}' failed: {error}"))
}

fn say(step: &str, result: &CommandResult) {
    println!(
        "  {step:<58} -> {} v{} at position {}",
        result.stream, result.version, result.position
    );
}

pub async fn run(store: SledStore, data: &Path) -> Result<(), CliError> {
    let head_before = store.head();
    let bus = CommandBus::new(Arc::new(store), Arc::new(SystemClock), Arc::new(UuidV7Ids));
    println!("Ledgerdesk demo on the ledger in {}", data.display());

    define_catalog(&bus).await?;
    let incident = work_an_incident(&bus).await?;
    investigate_a_problem(&bus, incident).await?;
    schedule_a_change(&bus).await?;

    let store = bus.store();
    let written = store.head() - head_before;
    println!("\nEvents written by this run ({written}):");
    let events = store.read_all(head_before + 1, usize::MAX).await?;
    for envelope in &events {
        println!("{}", ledger::table_line(envelope));
    }
    println!();
    ledger::verify(store).await?;
    println!(
        "\nRun `ledgerdesk --data {} events --json` to read the ledger with decoded payloads.",
        data.display()
    );
    Ok(())
}

async fn catalog_command(
    bus: &Bus,
    step: &str,
    actor: &Actor,
    command: CatalogCommand,
) -> Result<(), CliError> {
    let result = bus
        .execute::<Catalog>(&stream::catalog(), &command, actor)
        .await
        .map_err(failed(step))?;
    say(step, &result);
    Ok(())
}

async fn define_catalog(bus: &Bus) -> Result<(), CliError> {
    let manager = person("sam.manager", Role::ServiceManager);
    let catalog = bus
        .load::<Catalog>(&stream::catalog())
        .await
        .map_err(failed("load the catalog"))?
        .state;
    let email: ServiceId = id("email");
    if catalog.service(&email).is_some() {
        println!("The catalog already defines the email service and its SLA policies.");
        return Ok(());
    }
    println!("A service manager defines the catalog:");
    let holidays = [(2026, 12, 24), (2026, 12, 25), (2026, 12, 26), (2027, 1, 1)]
        .into_iter()
        .filter_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d));
    let office = Calendar::office_hours(
        chrono_tz::Europe::Berlin,
        NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default(),
    )
    .and_then(|calendar| calendar.with_holidays(holidays))
    .map_err(|e| CliError::Command(format!("demo calendar: {e}")))?;
    catalog_command(
        bus,
        "define calendar berlin-office (Mon-Fri 08-18 Europe/Berlin)",
        &manager,
        CatalogCommand::DefineCalendar {
            name: id("berlin-office"),
            calendar: office,
        },
    )
    .await?;
    catalog_command(
        bus,
        "define service email",
        &manager,
        CatalogCommand::DefineService {
            service: email.clone(),
            name: "Corporate e-mail".to_owned(),
            owner: id("service-desk"),
            criticality: Criticality::High,
        },
    )
    .await?;
    let pause_on = BTreeSet::from([HoldReason::AwaitingCustomer]);
    for (priority, response, resolution) in [
        (Priority::P1, 15, 4 * 60),
        (Priority::P2, 60, 8 * 60),
        (Priority::P3, 4 * 60, 3 * 8 * 60),
    ] {
        let targets = SlaTargets::new(
            TimeDelta::minutes(response),
            TimeDelta::minutes(resolution),
            80,
            pause_on.clone(),
        )
        .map_err(|e| CliError::Command(format!("demo SLA targets: {e}")))?;
        let name = format!("email-{}-standard", priority.to_string().to_lowercase());
        catalog_command(
            bus,
            &format!("define SLA policy {name}"),
            &manager,
            CatalogCommand::DefineSlaPolicy {
                policy: id(&name),
                service: email.clone(),
                priority,
                tier: CustomerTier::Standard,
                targets,
                calendar: id("berlin-office"),
                ola: BTreeMap::from([(
                    id::<GroupId>("service-desk"),
                    TimeDelta::minutes(resolution / 2),
                )]),
            },
        )
        .await?;
    }
    Ok(())
}

async fn incident_command(
    bus: &Bus,
    key: IncidentKey,
    step: &str,
    actor: &Actor,
    command: IncidentCommand,
) -> Result<(), CliError> {
    let result = bus
        .execute::<Incident>(&stream::incident(key), &command, actor)
        .await
        .map_err(failed(step))?;
    say(&format!("{key}: {step}"), &result);
    Ok(())
}

async fn work_an_incident(bus: &Bus) -> Result<IncidentKey, CliError> {
    println!("A requester reports an incident and an agent works it:");
    let requester = person("rita.requester", Role::Requester);
    let agent = person("alex.agent", Role::Agent);
    let catalog = bus
        .load::<Catalog>(&stream::catalog())
        .await
        .map_err(failed("load the catalog"))?
        .state;
    let (service, impact, urgency, tier) = (
        id::<ServiceId>("email"),
        Impact::Medium,
        Urgency::High,
        CustomerTier::Standard,
    );
    let sla = catalog
        .applied_sla(&service, Priority::from_matrix(impact, urgency), tier)
        .ok_or_else(|| {
            CliError::Command("the catalog has no SLA policy for email P2".to_owned())
        })?;
    let (number, result) = bus
        .create::<Incident>(
            |n| stream::incident(IncidentKey::new(n)),
            |n| {
                IncidentCommand::Log(Box::new(LogIncident {
                    key: IncidentKey::new(n),
                    title: "Outlook cannot connect to the mail server".to_owned(),
                    description: "Since 9:00 Outlook says 'disconnected'; webmail works."
                        .to_owned(),
                    channel: Channel::Portal,
                    requester: id("rita.requester"),
                    tier,
                    service: service.clone(),
                    category: id("email/connectivity"),
                    impact,
                    urgency,
                    sla: sla.clone(),
                }))
            },
            &requester,
        )
        .await
        .map_err(failed("log the incident"))?;
    let key = IncidentKey::new(number);
    say(&format!("{key}: requester logs it (P2, email)"), &result);
    let service_desk = id::<GroupId>("service-desk");
    let ola = catalog
        .applied_sla_for_group(&service, Priority::P2, tier, &service_desk)
        .and_then(|applied| applied.ola);
    let steps = [
        ("agent acknowledges", IncidentCommand::Acknowledge),
        (
            "agent assigns it to service-desk / alex.agent",
            IncidentCommand::Assign {
                group: Some(service_desk),
                agent: Some(id("alex.agent")),
                ola,
            },
        ),
        ("agent starts work", IncidentCommand::StartWork),
        (
            "agent asks the requester for a screenshot",
            IncidentCommand::Comment {
                text: "Could you send a screenshot of the error?".to_owned(),
                visibility: Visibility::Public,
            },
        ),
        (
            "agent puts it on hold (awaiting customer)",
            IncidentCommand::PutOnHold {
                reason: HoldReason::AwaitingCustomer,
            },
        ),
        ("agent resumes", IncidentCommand::Resume),
        (
            "agent resolves it",
            IncidentCommand::Resolve {
                code: ResolutionCode::Workaround,
                notes: "Re-created the Outlook profile; root cause under investigation.".to_owned(),
            },
        ),
    ];
    for (step, command) in steps {
        incident_command(bus, key, step, &agent, command).await?;
    }
    incident_command(
        bus,
        key,
        "requester rates it 4/5",
        &requester,
        IncidentCommand::Rate {
            score: 4,
            comment: "Quick help, thanks.".to_owned(),
        },
    )
    .await?;
    Ok(key)
}

async fn investigate_a_problem(bus: &Bus, incident: IncidentKey) -> Result<(), CliError> {
    println!("An agent opens a problem behind it:");
    let agent = person("alex.agent", Role::Agent);
    let (number, result) = bus
        .create::<Problem>(
            |n| stream::problem(ProblemKey::new(n)),
            |n| ProblemCommand::Record {
                key: ProblemKey::new(n),
                title: "Outlook profiles break after the mail gateway update".to_owned(),
                description: "Several users lose their connection after the update.".to_owned(),
                service: id("email"),
                impact: Impact::Medium,
                urgency: Urgency::Medium,
            },
            &agent,
        )
        .await
        .map_err(failed("record the problem"))?;
    let key = ProblemKey::new(number);
    say(&format!("{key}: agent records it"), &result);
    let steps = [
        (
            "investigation starts",
            ProblemCommand::StartInvestigation {
                group: id("email-l2"),
                assignee: Some(id("alex.agent")),
            },
        ),
        (
            &*format!("links {incident}"),
            ProblemCommand::LinkIncident { incident },
        ),
        (
            "records the root cause",
            ProblemCommand::RecordRootCause {
                root_cause: "The gateway update changed the autodiscover URL.".to_owned(),
            },
        ),
        (
            "documents a workaround (known error)",
            ProblemCommand::DocumentWorkaround {
                workaround: "Re-create the Outlook profile.".to_owned(),
            },
        ),
    ];
    for (step, command) in steps {
        let result = bus
            .execute::<Problem>(&stream::problem(key), &command, &agent)
            .await
            .map_err(failed(step))?;
        say(&format!("{key}: {step}"), &result);
    }
    Ok(())
}

/// Changes already scheduled on `service`. The change calendar read model will answer this;
/// until it exists, the demo folds every change stream (numbers are dense from 1).
async fn scheduled_changes(
    bus: &Bus,
    service: &ServiceId,
) -> Result<Vec<ScheduledChange>, CliError> {
    let mut scheduled = Vec::new();
    for number in 1.. {
        let key = ChangeKey::new(number);
        let loaded = bus
            .load::<Change>(&stream::change(key))
            .await
            .map_err(failed("load changes"))?;
        let Some(record) = loaded.state.record() else {
            break;
        };
        if &record.service == service
            && record.status == Status::Scheduled
            && let Some(slot) = record.slot
        {
            scheduled.push(ScheduledChange {
                key,
                service: service.clone(),
                from: slot.from,
                to: slot.to,
            });
        }
    }
    Ok(scheduled)
}

async fn schedule_a_change(bus: &Bus) -> Result<(), CliError> {
    println!("A change fixes it for good:");
    let change_manager = person("chris.cm", Role::ChangeManager);
    let service = id::<ServiceId>("email");
    let (number, result) = bus
        .create::<Change>(
            |n| stream::change(ChangeKey::new(n)),
            |n| ChangeCommand::Raise {
                key: ChangeKey::new(n),
                change_type: ChangeType::Normal,
                title: "Publish the new autodiscover record".to_owned(),
                description: "Point autodiscover at the updated mail gateway.".to_owned(),
                service: service.clone(),
                impact: Impact::Medium,
                likelihood: Likelihood::Low,
                implementation_plan: "Update the DNS record; verify with three test clients."
                    .to_owned(),
                backout_plan: "Restore the previous DNS record.".to_owned(),
                requested_by: id("alex.agent"),
            },
            &change_manager,
        )
        .await
        .map_err(failed("raise the change"))?;
    let key = ChangeKey::new(number);
    say(
        &format!("{key}: change manager raises a normal change"),
        &result,
    );

    // Tomorrow 20:00-21:00 UTC, outside office hours.
    let tomorrow = Utc::now()
        .date_naive()
        .checked_add_days(Days::new(1))
        .unwrap_or_default();
    let from = tomorrow.and_hms_opt(20, 0, 0).unwrap_or_default().and_utc();
    let to = from + TimeDelta::hours(1);
    let catalog = bus
        .load::<Catalog>(&stream::catalog())
        .await
        .map_err(failed("load the catalog"))?
        .state;
    let freeze_windows = catalog
        .freeze_windows_overlapping(&service, from, to)
        .into_iter()
        .map(|window| FreezeWindow {
            name: window.name.clone(),
            service: window.scope.service().cloned(),
            from: window.from,
            to: window.to,
        })
        .collect();
    let other_changes = scheduled_changes(bus, &service).await?;
    let cab: Vec<UserId> = vec![id("cab.alice"), id("cab.bob")];
    let steps = [
        ("submits it", ChangeCommand::Submit),
        (
            "assesses it: CAB alice + bob, quorum 2",
            ChangeCommand::Assess {
                impact: Impact::Medium,
                likelihood: Likelihood::Low,
                notes: "DNS change with a tested backout.".to_owned(),
                cab: cab.clone(),
                required_approvals: 2,
            },
        ),
        (
            "records cab.alice's approval",
            ChangeCommand::RecordApproval {
                approver: cab[0].clone(),
                vote: Vote::Approve,
                comment: String::new(),
            },
        ),
        (
            "records cab.bob's approval",
            ChangeCommand::RecordApproval {
                approver: cab[1].clone(),
                vote: Vote::Approve,
                comment: String::new(),
            },
        ),
        (
            "schedules it for tomorrow 20:00 UTC",
            ChangeCommand::Schedule {
                from,
                to,
                freeze_windows,
                other_changes,
            },
        ),
    ];
    for (step, command) in steps {
        let result = bus
            .execute::<Change>(&stream::change(key), &command, &change_manager)
            .await
            .map_err(failed(step))?;
        say(&format!("{key}: {step}"), &result);
    }
    Ok(())
}
