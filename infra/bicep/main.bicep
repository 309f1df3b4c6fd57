// RoleGen on Azure: a Flex Consumption Function App (orchestration, reasoning, I/O) plus a serverless-GPU Container
// App (ONNX Runtime CUDA backbone scoring) sharing one Durable Functions task hub and one storage account, Azure
// OpenAI for the reasoner, and Log Analytics + Application Insights.
// Each host runs as its own user-assigned managed identity with container-scoped blob roles (modules/roles.bicep);
// no keys or connection strings anywhere: storage shared-key access, Azure OpenAI local auth and Application
// Insights local auth are all disabled; everything authenticates with Entra ID.
//
// Deploy: `azd up`, or
//   az deployment group create -g <rg> -f infra/bicep/main.bicep -p infra/bicep/main.bicepparam
// Check locally (no Azure needed): scripts/bicep.sh check
targetScope = 'resourceGroup'

@description('Name of the environment (azd AZURE_ENV_NAME); feeds the resource token and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of the resources.')
param location string = resourceGroup().location

@description('Region of the Container Apps environment with serverless GPUs (they exist in a subset of regions).')
param gpuLocation string = location

@description('Region of the Azure OpenAI account (must offer the model with the chosen deployment SKU).')
param openAiLocation string = location

@description('Serverless GPU for backbone scoring: NVIDIA T4 (Consumption-GPU-NC8as-T4) or A100 (Consumption-GPU-NC24-A100).')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Placeholder image for the GPU worker; replace with the RoleGen Functions image once it is pushed to a registry.')
param gpuWorkerImage string = 'mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated8.0'

@description('Azure Container Registry login server of gpuWorkerImage (e.g. myregistry.azurecr.io), pulled with the GPU identity (AcrPull needed, no admin password). Empty: taken from gpuWorkerRegistryResourceId, or none (public image).')
param gpuWorkerRegistryServer string = ''

@description('Optional resource id of the Azure Container Registry holding gpuWorkerImage (any resource group/subscription of this tenant where you may assign roles): the GPU identity gets AcrPull on it. Empty: no AcrPull is assigned (public image, or grant it yourself).')
param gpuWorkerRegistryResourceId string = ''

@description('Maximum GPU replicas.')
@minValue(1)
@maxValue(10)
param gpuMaxReplicas int = 1

@description('Function names disabled in the GPU worker (HTTP/timer triggers that should only run on the Function App).')
param gpuDisabledFunctions string[] = [
  'StartRun'
  'GetRunStatus'
  'TerminateRun'
  'GetRunReport'
  'NightlyRunTimer'
]

@description('Azure OpenAI model for the reasoner.')
param openAiModelName string = 'gpt-4o-mini'

@description('Azure OpenAI model version.')
param openAiModelVersion string = '2024-07-18'

@description('Azure OpenAI deployment name (RoleGen__Reasoner__Llm__Deployment).')
param openAiDeploymentName string = 'reasoner'

@description('Azure OpenAI deployment SKU.')
@allowed([
  'GlobalStandard'
  'Standard'
  'DataZoneStandard'
])
param openAiDeploymentSku string = 'GlobalStandard'

@description('Azure OpenAI deployment capacity (thousands of tokens per minute).')
@minValue(1)
param openAiCapacity int = 30

@description('Blob container for RoleGen inputs and run outputs (RoleGen__Storage__Container).')
@minLength(3)
@maxLength(63)
param dataContainerName string = 'rolegen'

@description('Durable Functions task hub name (RoleGen__Durable__TaskHubName): letters and digits, 3-45 characters.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'rolegen'

@description('Task hub partitions (control queues) of the Durable Azure Storage backend, 1-16, set on both hosts as AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount (an app setting that overrides host.json). 0: keep host.json (4). A task hub keeps the count it was created with: change it only together with a new taskHubName, and mirror it in host.json (the platform scale controller reads host.json).')
@minValue(0)
@maxValue(16)
param durablePartitionCount int = 0

@description('Also provision a Durable Task Scheduler (scheduler + task hub taskHubName, Durable Task roles for both identities) and set DURABLE_TASK_SCHEDULER_CONNECTION_STRING on both hosts. The app keeps the Azure Storage backend until host.json selects the scheduler (see README).')
param durableTaskSchedulerEnabled bool = false

@description('Durable Task Scheduler SKU.')
@allowed([
  'Consumption'
  'Dedicated'
])
param durableTaskSchedulerSku string = 'Consumption'

@description('NCRONTAB schedule of the nightly batch (RoleGen__Schedule__Nightly).')
param nightlySchedule string = '0 0 2 * * *'

@description('Dataset (blob prefix events/{dataset}/) the nightly run scores (RoleGen__Runs__Dataset). Empty: the timer logs a warning and starts nothing.')
param nightlyDataset string = ''

@description('Maximum Flex Consumption instances of the Function App.')
@minValue(1)
@maxValue(1000)
param functionMaxInstances int = 100

@description('Send resource logs and metrics of storage (blob/queue/table), Azure OpenAI and the Function App to the Log Analytics workspace (diagnostic settings).')
param diagnosticSettingsEnabled bool = true

@description('Create the alert rules (no nightly run, shards failed, LLM fallback rate) over AppMetrics.')
param alertsEnabled bool = true

@description('E-mail address the alert rules notify (action group); empty: no action group, alerts fire into the portal only (Monitor > Alerts).')
param alertEmailAddress string = ''

@description('Hours without a timer-started run after which "no nightly run started" fires (24 h between nights + grace).')
@minValue(1)
@maxValue(47)
param alertNoRunWindowHours int = 26

@description('Length of a nightly run in hours: the window over which failed shards and the LLM fallback rate are summed.')
@minValue(1)
@maxValue(6)
param alertRunWindowHours int = 6

@description('LLM fallback rate (fallbacks / calls) in percent above which "LLM fallback rate high" fires; 20 = 0.2.')
@minValue(1)
@maxValue(100)
param alertLlmFallbackRatePercent int = 20

@description('Minimum number of LLM calls in the run window before the fallback rate is judged.')
@minValue(1)
param alertLlmFallbackMinCalls int = 20

@description('Optional object id of the deploying user/group to grant blob and Azure OpenAI data access (azd passes AZURE_PRINCIPAL_ID).')
param principalId string = ''

@description('Principal type of principalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'rolegen'
}
// Names are computed here (not taken from module outputs) so modules that look resources up get deploy-time
// constants: What-If can then predict every resource id.
var names = {
  // The Function App keeps the identity name of the former shared identity (same client id, same role names).
  identity: 'id-rolegen-${resourceToken}'
  gpuIdentity: 'id-rolegen-gpu-${resourceToken}'
  logAnalytics: 'log-rolegen-${resourceToken}'
  appInsights: 'appi-rolegen-${resourceToken}'
  storage: 'strolegen${resourceToken}'
  openAi: 'oai-rolegen-${resourceToken}'
  plan: 'plan-rolegen-${resourceToken}'
  functionApp: 'func-rolegen-${resourceToken}'
  containerEnvironment: 'cae-rolegen-${resourceToken}'
  gpuApp: 'ca-rolegen-gpu-${resourceToken}'
  durableTaskScheduler: 'dts-rolegen-${resourceToken}'
}
var deploymentContainerName = 'app-package-${take(names.functionApp, 32)}'
// Blob containers the hosts use besides the data and deployment containers, created up front so each host's
// identity can be granted access per container: the Functions host's locks/timer status (azure-webjobs-hosts) and
// keys (azure-webjobs-secrets), and the Durable Azure Storage backend's partition leases, app lease and large
// messages ({hub}-leases, {hub}-applease, {hub}-largemessages; the backend lower-cases the hub name).
var hostLocksContainer = 'azure-webjobs-hosts'
var hostSecretsContainer = 'azure-webjobs-secrets'
var taskHubContainers = [
  '${toLower(taskHubName)}-leases'
  '${toLower(taskHubName)}-applease'
  '${toLower(taskHubName)}-largemessages'
]

// Separate identities: the GPU worker runs a parameterised image, so it must not share the Function App's reach
// (deployment package, function keys).
module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    tags: tags
    name: names.identity
  }
}

module gpuIdentity 'modules/identity.bicep' = {
  name: 'gpu-identity'
  params: {
    location: location
    tags: tags
    name: names.gpuIdentity
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
    appInsightsName: names.appInsights
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: names.storage
    dataContainerName: dataContainerName
    deploymentContainerName: deploymentContainerName
    runtimeContainerNames: concat([hostLocksContainer, hostSecretsContainer], taskHubContainers)
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  params: {
    location: openAiLocation
    tags: tags
    name: names.openAi
    customSubDomainName: names.openAi
    deploymentName: openAiDeploymentName
    modelName: openAiModelName
    modelVersion: openAiModelVersion
    skuName: openAiDeploymentSku
    capacity: openAiCapacity
  }
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    functionsIdentityName: names.identity
    gpuIdentityName: names.gpuIdentity
    storageAccountName: names.storage
    functionsBlobContainers: concat(
      [dataContainerName, deploymentContainerName, hostLocksContainer, hostSecretsContainer],
      taskHubContainers
    )
    gpuBlobContainers: concat([dataContainerName, hostLocksContainer], taskHubContainers)
    userBlobContainers: [dataContainerName]
    openAiAccountName: names.openAi
    appInsightsName: names.appInsights
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
  dependsOn: [
    identity
    gpuIdentity
    storage
    openAi
    monitoring
  ]
}

// AcrPull for the GPU identity on the image's registry, in the registry's own resource group. The fallback id keeps
// split() indexable when no registry is given (the module is skipped then).
var useAcrPull = !empty(gpuWorkerRegistryResourceId)
var registryIdParts = split(
  useAcrPull ? gpuWorkerRegistryResourceId : resourceId('Microsoft.ContainerRegistry/registries', 'none'),
  '/'
)
module acrPull 'modules/acr-pull.bicep' = if (useAcrPull) {
  name: 'gpu-acr-pull'
  scope: resourceGroup(registryIdParts[2], registryIdParts[4])
  params: {
    registryName: last(registryIdParts)
    identityId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', names.gpuIdentity)
    principalId: gpuIdentity.outputs.principalId
  }
}
var gpuRegistryServer = empty(gpuWorkerRegistryServer)
  ? (acrPull.?outputs.loginServer ?? '')
  : gpuWorkerRegistryServer

// Optional Durable Task Scheduler (off by default).
module durableTaskScheduler 'modules/durabletask.bicep' = if (durableTaskSchedulerEnabled) {
  name: 'durabletask'
  params: {
    location: location
    tags: tags
    name: names.durableTaskScheduler
    taskHubName: taskHubName
    skuName: durableTaskSchedulerSku
    functionsIdentityId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', names.identity)
    functionsPrincipalId: identity.outputs.principalId
    gpuIdentityId: resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', names.gpuIdentity)
    gpuPrincipalId: gpuIdentity.outputs.principalId
  }
}
var durableTaskSchedulerEndpoint = durableTaskScheduler.?outputs.endpoint ?? ''

// DTS connection setting per host (each with its own identity); empty object when the scheduler is off.
func dtsSettings(enabled bool, endpoint string, clientId string) { *: string } =>
  enabled
    ? {
        DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${endpoint};Authentication=ManagedIdentity;ClientID=${clientId}'
      }
    : {}

// Both hosts must hash instances onto the same control queues, so the partition override goes to both or neither.
var partitionSettings = durablePartitionCount > 0
  ? {
      AzureFunctionsJobHost__extensions__durableTask__storageProvider__partitionCount: string(durablePartitionCount)
    }
  : {}

// Settings both hosts share; each host adds its identity (AzureWebJobsStorage__*, AZURE_CLIENT_ID, telemetry
// authentication) and RoleGen__Scoring__ExecutionProvider.
var sharedSettings = union(partitionSettings, {
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.appInsightsConnectionString
  RoleGen__Storage__BlobServiceUri: storage.outputs.blobEndpoint
  RoleGen__Storage__Container: storage.outputs.dataContainerName
  RoleGen__Durable__TaskHubName: taskHubName
  RoleGen__Reasoner__Llm__Endpoint: openAi.outputs.endpoint
  RoleGen__Reasoner__Llm__Deployment: openAi.outputs.deploymentName
  RoleGen__Schedule__Nightly: nightlySchedule
  RoleGen__Runs__Dataset: nightlyDataset
})

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: tags
    serviceName: 'functions'
    planName: names.plan
    name: names.functionApp
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appSettings: union(
      sharedSettings,
      dtsSettings(durableTaskSchedulerEnabled, durableTaskSchedulerEndpoint, identity.outputs.clientId)
    )
    maximumInstanceCount: functionMaxInstances
  }
  // The host cannot start before its identity can reach storage.
  dependsOn: [
    roles
  ]
}

module gpu 'modules/gpu.bicep' = {
  name: 'gpu'
  params: {
    location: gpuLocation
    tags: tags
    environmentName: names.containerEnvironment
    name: names.gpuApp
    logAnalyticsName: names.logAnalytics
    gpuProfileType: gpuProfileType
    image: gpuWorkerImage
    registryServer: gpuRegistryServer
    identityId: gpuIdentity.outputs.id
    identityClientId: gpuIdentity.outputs.clientId
    storageAccountName: storage.outputs.name
    taskHubName: taskHubName
    appSettings: union(
      sharedSettings,
      dtsSettings(durableTaskSchedulerEnabled, durableTaskSchedulerEndpoint, gpuIdentity.outputs.clientId)
    )
    disabledFunctions: gpuDisabledFunctions
    maxReplicas: gpuMaxReplicas
  }
  // The identity must reach the task hub queue before the scaler polls it, and the registry (AcrPull, a dependency
  // through gpuRegistryServer) before the first pull. (Log Analytics, whose keys the environment reads, is already a
  // dependency through sharedSettings.)
  dependsOn: [
    roles
  ]
}

module diagnostics 'modules/diagnostics.bicep' = if (diagnosticSettingsEnabled) {
  name: 'diagnostics'
  params: {
    logAnalyticsName: names.logAnalytics
    storageAccountName: names.storage
    openAiAccountName: names.openAi
    functionAppName: names.functionApp
  }
  dependsOn: [
    monitoring
    storage
    openAi
    functionApp
  ]
}

module alerts 'modules/alerts.bicep' = if (alertsEnabled) {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    logAnalyticsName: names.logAnalytics
    emailAddress: alertEmailAddress
    nightlyRunExpected: !empty(nightlyDataset)
    noRunWindowHours: alertNoRunWindowHours
    runWindowHours: alertRunWindowHours
    llmFallbackRatePercent: alertLlmFallbackRatePercent
    llmFallbackMinCalls: alertLlmFallbackMinCalls
  }
  dependsOn: [
    monitoring
  ]
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  params: {
    location: location
    tags: tags
    logAnalyticsName: names.logAnalytics
  }
  dependsOn: [
    monitoring
  ]
}

// azd writes these into the environment (.azure/<env>/.env); they are the values of the app settings above.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
// AZURE_CLIENT_ID stays the Function App identity (as when one identity served both hosts).
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_GPU_CLIENT_ID string = gpuIdentity.outputs.clientId
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_HOST string = functionApp.outputs.defaultHostName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_OPENAI_ENDPOINT string = openAi.outputs.endpoint
output AZURE_OPENAI_DEPLOYMENT string = openAi.outputs.deploymentName
output AZURE_GPU_CONTAINER_APP_NAME string = gpu.outputs.name
output AZURE_GPU_CONTAINER_APP_FQDN string = gpu.outputs.fqdn
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = monitoring.outputs.logAnalyticsName
output AZURE_WORKBOOK_ID string = workbook.outputs.id
output ROLEGEN_STORAGE_CONTAINER string = dataContainerName
output ROLEGEN_TASK_HUB_NAME string = taskHubName
