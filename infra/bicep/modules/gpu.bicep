// The GPU side: an Azure Container Apps environment with a serverless GPU workload profile and a Container App that
// runs the same RoleGen Functions image as a Durable worker with RoleGen__Scoring__ExecutionProvider=Cuda, so the
// RecommendShard activities it picks up run the ONNX Runtime backbone on the GPU (the app falls back to CPU when CUDA is
// not available). It shares the task hub with the Function App and scales on the task hub's work-item queue.
@description('Azure region with serverless GPU capacity (e.g. westus3, australiaeast, swedencentral).')
param location string

@description('Tags applied to every resource.')
param tags resourceInput<'Microsoft.Resources/resourceGroups@2025-04-01'>.tags

@description('Container Apps managed environment name.')
param environmentName string

@description('Container App name.')
param name string

@description('Log Analytics workspace that receives the container logs.')
param logAnalyticsName string

@description('Serverless GPU workload profile type.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string

@description('Container image (the RoleGen Functions image; the default is a placeholder until one is pushed).')
param image string

@description('Optional Azure Container Registry login server (e.g. myacr.azurecr.io) pulled with the GPU identity (it needs AcrPull there; no admin user or password); empty for a public image.')
param registryServer string = ''

@description('Resource id of the GPU worker identity (user-assigned, not shared with the Function App).')
param identityId string

@description('Client id of the GPU worker identity.')
param identityClientId string

@description('Storage account that holds the Durable Functions task hub.')
param storageAccountName string

@description('Durable Functions task hub name (its work-item queue drives scaling).')
param taskHubName string

@description('App settings shared with the Function App (RoleGen__*, telemetry destination, host.json overrides).')
param appSettings { *: string }

@description('Function names to disable in the GPU worker (e.g. HTTP and timer triggers that belong to the Function App).')
param disabledFunctions string[] = []

@description('Maximum GPU replicas (each replica holds one GPU; mind the serverless GPU quota).')
@minValue(1)
@maxValue(10)
param maxReplicas int = 1

var workloadProfileName = 'gpu'
// Serverless GPU profiles allot the whole node to one replica.
var containerResources = gpuProfileType == 'Consumption-GPU-NC24-A100'
  ? {
      cpu: json('24.0')
      memory: '220Gi'
    }
  : {
      cpu: json('8.0')
      memory: '56Gi'
    }

// The worker runs as its own identity. Function keys live on the local file system (AzureWebJobsSecretStorageType
// = files) instead of the azure-webjobs-secrets container: the GPU worker serves no HTTP function, so it needs no
// access to the Function App's keys and gets no role on that container.
var workerSettings = union(
  appSettings,
  {
    FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsSecretStorageType: 'files'
    AZURE_CLIENT_ID: identityClientId
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    RoleGen__Scoring__ExecutionProvider: 'Cuda'
  },
  toObject(disabledFunctions, fn => 'AzureWebJobs.${fn}.Disabled', fn => 'true')
)

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: logAnalyticsName
}

resource managedEnvironment 'Microsoft.App/managedEnvironments@2026-07-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logAnalytics.properties.customerId
        sharedKey: logAnalytics.listKeys().primarySharedKey
      }
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: workloadProfileName
        workloadProfileType: gpuProfileType
      }
    ]
  }
}

resource containerApp 'Microsoft.App/containerApps@2026-07-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: managedEnvironment.id
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: false
        targetPort: 80
        transport: 'auto'
        allowInsecure: false
      }
      registries: empty(registryServer)
        ? []
        : [
            {
              server: registryServer
              identity: identityId
            }
          ]
    }
    template: {
      containers: [
        {
          name: 'rolegen'
          image: image
          resources: containerResources
          env: [
            for setting in items(workerSettings): {
              name: setting.key
              value: setting.value
            }
          ]
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'taskhub-workitems'
            azureQueue: {
              accountName: storageAccountName
              queueName: '${toLower(taskHubName)}-workitems'
              queueLength: 1
              identity: identityId
            }
          }
        ]
      }
    }
  }
}

output name string = containerApp.name
output fqdn string = containerApp.properties.configuration.ingress.fqdn
output environmentName string = managedEnvironment.name
