//! What each flow needs, as concrete requests: one module per kind of access, each
//! written from what the access does in AWS (the actions a call makes, the resource it
//! names, the context keys AWS sends), not read back from the generated statements.
//! Not the neighbours (`super::neighbours`) and not the policies under test.

mod athena;
mod dynamodb;
mod glue;
mod kms;
mod logs;
mod s3;
mod sagemaker;
mod sqs;
pub mod vpc;

use super::ctx::{Ctx, Need};
use crate::plan::{Access, Flow};

/// What a flow needs, as concrete requests, for a role assumed by `service`.
pub(super) fn needs(cx: &Ctx, flow: &Flow, service: &str) -> Vec<Need> {
    let mut out = Vec::new();
    match &flow.access {
        Access::PutObjects { bucket, prefix } => {
            s3::put_objects(cx, &mut out, *bucket, prefix, service);
        }
        Access::ReadObjects { bucket, prefix } => s3::read_objects(cx, &mut out, *bucket, prefix),
        Access::ScratchObjects { bucket, prefix } => {
            s3::scratch_objects(cx, &mut out, *bucket, prefix);
        }
        Access::Replicate { from, to } => s3::replicate(cx, &mut out, *from, *to),
        Access::WriteItems => dynamodb::write_items(cx, &mut out),
        Access::ReadItems => dynamodb::read_items(cx, &mut out),
        Access::QueryIndex { index } => dynamodb::query_index(cx, &mut out, index),
        Access::ExportTable { bucket, prefix } => {
            dynamodb::export_table(cx, &mut out, *bucket, prefix);
        }
        Access::StartJob { job } => glue::start_job(cx, &mut out, job),
        Access::ReadCatalog { tables } => glue::catalog(cx, &mut out, tables, false),
        Access::UpdateCatalog { tables } => glue::catalog(cx, &mut out, tables, true),
        Access::WriteLogs { group } => logs::write_logs(cx, &mut out, group, service),
        Access::PushApiLogs { group } => logs::push_api_logs(cx, &mut out, group),
        Access::SendMessages { queue } => sqs::send_messages(cx, &mut out, queue),
        Access::QueryAthena { workgroup } => athena::query(cx, workgroup, &mut out),
        Access::AttachToVpc => vpc::attach(cx, &mut out, service),
        Access::RegisterModels => sagemaker::register_models(cx, &mut out),
        Access::InvokeFunction { function } => sagemaker::invoke_function(cx, &mut out, function),
        Access::RunTrainingJobs { role } => sagemaker::run_training_jobs(cx, &mut out, role),
        Access::StartPipeline { pipeline } => sagemaker::start_pipeline(cx, &mut out, pipeline),
        Access::EncryptBookmarks => kms::encrypt_bookmarks(cx, &mut out),
    }
    out
}
