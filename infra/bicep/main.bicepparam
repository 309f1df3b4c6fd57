// Parameters for main.bicep. azd sets AZURE_ENV_NAME / AZURE_PRINCIPAL_ID; with plain `az deployment group create`
// export them (or edit the defaults below). Every other parameter keeps the template default unless set here.
using './main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'rolegen-dev')
param principalId = readEnvironmentVariable('AZURE_PRINCIPAL_ID', '')
param gpuProfileType = readEnvironmentVariable('ROLEGEN_GPU_PROFILE', 'Consumption-GPU-NC8as-T4')
param gpuWorkerImage = readEnvironmentVariable('ROLEGEN_GPU_IMAGE', 'mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated8.0')
param openAiModelName = 'gpt-4o-mini'
param openAiModelVersion = '2024-07-18'
param openAiDeploymentSku = 'GlobalStandard'
param openAiCapacity = 30
param nightlySchedule = '0 0 2 * * *'
