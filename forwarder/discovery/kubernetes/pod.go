package kubernetes

import (
	"net"
	"strconv"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
)

const (
	podIPLabel                    = metaPrefix + "pod_ip"
	podContainerNameLabel         = metaPrefix + "pod_container_name"
	podContainerIDLabel           = metaPrefix + "pod_container_id"
	podContainerImageLabel        = metaPrefix + "pod_container_image"
	podContainerPortNameLabel     = metaPrefix + "pod_container_port_name"
	podContainerPortNumberLabel   = metaPrefix + "pod_container_port_number"
	podContainerPortProtocolLabel = metaPrefix + "pod_container_port_protocol"
	podContainerIsInit            = metaPrefix + "pod_container_init"
	podCronJobNameLabel           = metaPrefix + "pod_cronjob_name"
	podDeploymentNameLabel        = metaPrefix + "pod_deployment_name"
	podJobNameLabel               = metaPrefix + "pod_job_name"
	podReadyLabel                 = metaPrefix + "pod_ready"
	podPhaseLabel                 = metaPrefix + "pod_phase"
	podNodeNameLabel              = metaPrefix + "pod_node_name"
	podHostIPLabel                = metaPrefix + "pod_host_ip"
	podUID                        = metaPrefix + "pod_uid"
	podControllerKind             = metaPrefix + "pod_controller_kind"
	podControllerName             = metaPrefix + "pod_controller_name"
)

// podLabels are the pod-level labels every role that resolves a pod sets.
func (d *Discovery) podLabels(p *pod) model.LabelSet {
	ls := model.LabelSet{
		podIPLabel:       lv(p.Status.PodIP),
		podReadyLabel:    podReady(p),
		podPhaseLabel:    lv(p.Status.Phase),
		podNodeNameLabel: lv(p.Spec.NodeName),
		podHostIPLabel:   lv(p.Status.HostIP),
		podUID:           lv(p.Metadata.UID),
	}
	addObjectLabels(ls, &p.Metadata, RolePod)
	c := p.Metadata.controller()
	if c == nil {
		return ls
	}
	if c.Kind != "" {
		ls[podControllerKind] = lv(c.Kind)
	}
	if c.Name != "" {
		ls[podControllerName] = lv(c.Name)
	}
	ownerKey := p.Metadata.Namespace + "/" + c.Name
	switch c.Kind {
	case "ReplicaSet":
		if d.attach.Deployment {
			if rs, ok := d.stores[kindReplicaSet][ownerKey]; ok {
				if o := rs.meta().controller(); o != nil && o.Kind == "Deployment" {
					ls[podDeploymentNameLabel] = lv(o.Name)
				}
			}
		}
	case "Job":
		if d.attach.Job {
			ls[podJobNameLabel] = lv(c.Name)
		}
		if d.attach.CronJob {
			if job, ok := d.stores[kindJob][ownerKey]; ok {
				if o := job.meta().controller(); o != nil && o.Kind == "CronJob" {
					ls[podCronJobNameLabel] = lv(o.Name)
				}
			}
		}
	}
	return ls
}

func podReady(p *pod) model.LabelValue {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return lower(c.Status)
		}
	}
	return "unknown"
}

// containers are the pod's containers then its init containers.
func (p *pod) containers() []container {
	return append(append(make([]container, 0, len(p.Spec.Containers)+len(p.Spec.InitContainers)), p.Spec.Containers...), p.Spec.InitContainers...)
}

func containerID(statuses []containerStatus, name string) string {
	for _, s := range statuses {
		if s.Name == name {
			return s.ContainerID
		}
	}
	return ""
}

// buildPod: one target per container port, or per container without
// ports (the pod IP alone).
func (d *Discovery) buildPod(p *pod) *targetgroup.Group {
	tg := &targetgroup.Group{Source: "pod/" + p.Metadata.Namespace + "/" + p.Metadata.Name}
	if p.Status.PodIP == "" {
		return tg // starting, or evicted
	}
	if d.attach.Node {
		// A pod on a node the node selectors leave out is left out.
		if _, ok := d.stores[kindNode][p.Spec.NodeName]; !ok {
			return tg
		}
	}
	tg.Labels = d.podLabels(p)
	tg.Labels[namespaceLabel] = lv(p.Metadata.Namespace)
	if d.attach.Node {
		tg.Labels = d.nodeLabels(tg.Labels, &p.Spec.NodeName)
	}
	if d.attach.Namespace {
		tg.Labels = d.namespaceLabels(tg.Labels, p.Metadata.Namespace)
	}
	for i, c := range p.containers() {
		isInit := i >= len(p.Spec.Containers)
		statuses := p.Status.ContainerStatuses
		if isInit {
			statuses = p.Status.InitContainerStatuses
		}
		cID := containerID(statuses, c.Name)
		if len(c.Ports) == 0 {
			tg.Targets = append(tg.Targets, model.LabelSet{
				model.AddressLabel:     lv(p.Status.PodIP),
				podContainerNameLabel:  lv(c.Name),
				podContainerIDLabel:    lv(cID),
				podContainerImageLabel: lv(c.Image),
				podContainerIsInit:     lv(strconv.FormatBool(isInit)),
			})
			continue
		}
		for _, port := range c.Ports {
			ports := strconv.FormatUint(uint64(port.ContainerPort), 10)
			tg.Targets = append(tg.Targets, model.LabelSet{
				model.AddressLabel:            lv(net.JoinHostPort(p.Status.PodIP, ports)),
				podContainerNameLabel:         lv(c.Name),
				podContainerIDLabel:           lv(cID),
				podContainerImageLabel:        lv(c.Image),
				podContainerPortNumberLabel:   lv(ports),
				podContainerPortNameLabel:     lv(port.Name),
				podContainerPortProtocolLabel: lv(port.Protocol),
				podContainerIsInit:            lv(strconv.FormatBool(isInit)),
			})
		}
	}
	return tg
}
